#!/usr/bin/env python3
import numpy as np
import graphflow.keras as keras
from graphflow.keras.models import Sequential
from graphflow.keras.layers import Dense, Dropout, Flatten
from graphflow.keras.layers import Conv2D, MaxPooling2D
from graphflow.keras.optimizers import SGD

# The seed note's example, verbatim except for the imports above. Set SEED_VGG_SAMPLES
# and SEED_VGG_EPOCHS (e.g. 8 and 1) for a quick run; the note's sizes take minutes.
import os
N = int(os.environ.get("SEED_VGG_SAMPLES", 100))
EPOCHS = int(os.environ.get("SEED_VGG_EPOCHS", 10))

# Generate dummy data
x_train = np.random.random((N, 100, 100, 3))
y_train = keras.utils.to_categorical(np.random.randint(10, size=(N, 1)), num_classes=10)
x_test = np.random.random((20, 100, 100, 3))
y_test = keras.utils.to_categorical(np.random.randint(10, size=(20, 1)), num_classes=10)

model = Sequential()
# input: 100x100 images with 3 channels -> (100, 100, 3) tensors.
# this applies 32 convolution filters of size 3x3 each.
model.add(Conv2D(32, (3, 3), activation='relu', input_shape=(100, 100, 3)))
model.add(Conv2D(32, (3, 3), activation='relu'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))

model.add(Conv2D(64, (3, 3), activation='relu'))
model.add(Conv2D(64, (3, 3), activation='relu'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))

model.add(Flatten())
model.add(Dense(256, activation='relu'))
model.add(Dropout(0.5))
model.add(Dense(10, activation='softmax'))

sgd = SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
model.compile(loss='categorical_crossentropy', optimizer=sgd)

model.fit(x_train, y_train, batch_size=32, epochs=EPOCHS)
score = model.evaluate(x_test, y_test, batch_size=32)
print("score:", score)
