// 2-D max and average pooling and their gradients, one thread per output element
// (forward) or per input element (gradients: a gather over the windows that cover the
// element, so no atomics and NumPy's summation order).
//
// Geometry: batch N, input H x W x C, window PH x PW, output OH x OW, strides SH SW,
// padding top PT and left PL. Input-shaped arrays (x, dx, g) use element strides
// sN sH sW sC, output-shaped ones (y, dy) oN oH oW oC. CF = 1 walks elements in
// channels_first order (w fastest), 0 in channels_last order (c fastest), so a thread
// block touches neighbouring addresses in either layout. A window's winner is the first
// cell, in row-major scan order, equal to its maximum; padding takes part in the scan as
// -inf (and can win only a window of -infs), exactly as the NumPy backend pads.

#define GF_POOL_GEOMETRY(I) I N, I H, I W, I C, I PH, I PW, I OH, I OW, I SH, I SW, I PT, I PL, \
    I sN, I sH, I sW, I sC, I oN, I oH, I oW, I oC, I CF
#define GF_POOL_ARGS N, H, W, C, PH, PW, OH, OW, SH, SW, PT, PL, sN, sH, sW, sC, oN, oH, oW, oC, CF

template <typename I>
GF_HD void gf_pool_coords(I i, I CF, I A, I B, I C, I* n, I* a, I* b, I* c) {
    if (CF) { *b = i % B; i /= B; *a = i % A; i /= A; *c = i % C; *n = i / C; }
    else { *c = i % C; i /= C; *b = i % B; i /= B; *a = i % A; *n = i / A; }
}

// offset (in x) of the first cell of window (oh, ow) equal to m, or -1 (a padded cell won)
template <typename T, typename I>
GF_HD I gf_pool_winner(const T* x, T m, I base, I oh, I ow, GF_POOL_GEOMETRY(I)) {
    for (I kh = 0; kh < PH; ++kh) {
        I h = oh * SH + kh - PT;
        for (I kw = 0; kw < PW; ++kw) {
            I w = ow * SW + kw - PL;
            bool real = h >= 0 && h < H && w >= 0 && w < W;
            T v = real ? x[base + h * sH + w * sW] : (T)(-gf_inf());
            if (v == m) return real ? base + h * sH + w * sW : (I)-1;
        }
    }
    return -1;
}

// the number of real (not padded) cells in window (oh, ow)
template <typename I>
GF_HD I gf_pool_count(I oh, I ow, I H, I W, I PH, I PW, I SH, I SW, I PT, I PL) {
    I h0 = oh * SH - PT, w0 = ow * SW - PL;
    I h1 = h0 + PH < H ? h0 + PH : H, w1 = w0 + PW < W ? w0 + PW : W;
    return (h1 - (h0 > 0 ? h0 : 0)) * (w1 - (w0 > 0 ? w0 : 0));
}

// window (oh, ow)'s maximum (NaN propagating, as np.maximum) or, with avg, the mean of
// its real cells (summed in scan order, as the NumPy backend: its padding adds zeros)
template <typename T, typename I>
GF_HD T gf_pool_window(const T* x, I base, I oh, I ow, bool avg, GF_POOL_GEOMETRY(I)) {
    T acc = avg ? (T)0 : (T)(-gf_inf());
    for (I kh = 0; kh < PH; ++kh) {
        I h = oh * SH + kh - PT;
        if (h < 0 || h >= H) continue;
        for (I kw = 0; kw < PW; ++kw) {
            I w = ow * SW + kw - PL;
            if (w < 0 || w >= W) continue;
            T v = x[base + h * sH + w * sW];
            acc = avg ? acc + v : gf_max(acc, v);
        }
    }
    return avg ? acc / (T)gf_pool_count(oh, ow, H, W, PH, PW, SH, SW, PT, PL) : acc;
}

#define GF_POOL_PARAMS(T, I) const T* x, T* y, GF_POOL_GEOMETRY(I)
#define GF_POOL_FORWARD(name, avg) \
    template <typename T, typename I> \
    GF_HD void name##_at(I i, GF_POOL_PARAMS(T, I)) { \
        I n, oh, ow, c; \
        gf_pool_coords(i, CF, OH, OW, C, &n, &oh, &ow, &c); \
        y[n * oN + oh * oH + ow * oW + c * oC] = gf_pool_window(x, n * sN + c * sC, oh, ow, avg, GF_POOL_ARGS); \
    }
#define GF_POOL_FORWARD_ARGS x, y, GF_POOL_ARGS
GF_POOL_FORWARD(gf_maxpool, false)
GF_EACH(gf_maxpool, GF_POOL_PARAMS, GF_POOL_FORWARD_ARGS)
GF_POOL_FORWARD(gf_avgpool, true)
GF_EACH(gf_avgpool, GF_POOL_PARAMS, GF_POOL_FORWARD_ARGS)

// windows (oh, ow) covering input cell (h, w), visited in the NumPy backend's order:
// window offsets (kh, kw) row-major
#define GF_FOR_WINDOWS(h, w, ...) \
    for (I kh = 0; kh < PH; ++kh) { \
        I hh = h + PT - kh; \
        if (hh < 0 || hh % SH != 0 || hh / SH >= OH) continue; \
        I oh = hh / SH; \
        for (I kw = 0; kw < PW; ++kw) { \
            I ww = w + PL - kw; \
            if (ww < 0 || ww % SW != 0 || ww / SW >= OW) continue; \
            I ow = ww / SW; \
            __VA_ARGS__ \
        } \
    }

// dx[i] (i over input elements): dy of every window this cell won
#define GF_MAXPOOL_GRAD_PARAMS(T, I) const T* x, const T* y, const T* dy, T* dx, GF_POOL_GEOMETRY(I)
#define GF_MAXPOOL_GRAD_ARGS x, y, dy, dx, GF_POOL_ARGS
template <typename T, typename I>
GF_HD void gf_maxpool_grad_at(I i, GF_MAXPOOL_GRAD_PARAMS(T, I)) {
    I n, h, w, c;
    gf_pool_coords(i, CF, H, W, C, &n, &h, &w, &c);
    I base = n * sN + c * sC, me = base + h * sH + w * sW, obase = n * oN + c * oC;
    T acc = 0;
    GF_FOR_WINDOWS(h, w, {
        I o = obase + oh * oH + ow * oW;
        if (gf_pool_winner(x, y[o], base, oh, ow, GF_POOL_ARGS) == me) acc += dy[o];
    })
    dx[me] = acc;
}
GF_EACH(gf_maxpool_grad, GF_MAXPOOL_GRAD_PARAMS, GF_MAXPOOL_GRAD_ARGS)

// r[i] (i over output elements): g (input-shaped) at the window's winner
#define GF_MAXPOOL_GRADGRAD_PARAMS(T, I) const T* x, const T* y, const T* g, T* r, GF_POOL_GEOMETRY(I)
#define GF_MAXPOOL_GRADGRAD_ARGS x, y, g, r, GF_POOL_ARGS
template <typename T, typename I>
GF_HD void gf_maxpool_gradgrad_at(I i, GF_MAXPOOL_GRADGRAD_PARAMS(T, I)) {
    I n, oh, ow, c;
    gf_pool_coords(i, CF, OH, OW, C, &n, &oh, &ow, &c);
    I o = n * oN + oh * oH + ow * oW + c * oC;
    I won = gf_pool_winner(x, y[o], n * sN + c * sC, oh, ow, GF_POOL_ARGS);
    r[o] = won < 0 ? (T)0 : g[won];
}
GF_EACH(gf_maxpool_gradgrad, GF_MAXPOOL_GRADGRAD_PARAMS, GF_MAXPOOL_GRADGRAD_ARGS)

// dx[i] (i over input elements): each covering window's dy shared by its real cells
#define GF_AVGPOOL_GRAD_PARAMS(T, I) const T* dy, T* dx, GF_POOL_GEOMETRY(I)
#define GF_AVGPOOL_GRAD_ARGS dy, dx, GF_POOL_ARGS
template <typename T, typename I>
GF_HD void gf_avgpool_grad_at(I i, GF_AVGPOOL_GRAD_PARAMS(T, I)) {
    I n, h, w, c;
    gf_pool_coords(i, CF, H, W, C, &n, &h, &w, &c);
    I obase = n * oN + c * oC;
    T acc = 0;
    GF_FOR_WINDOWS(h, w, {
        acc += dy[obase + oh * oH + ow * oW] / (T)gf_pool_count(oh, ow, H, W, PH, PW, SH, SW, PT, PL);
    })
    dx[n * sN + h * sH + w * sW + c * sC] = acc;
}
GF_EACH(gf_avgpool_grad, GF_AVGPOOL_GRAD_PARAMS, GF_AVGPOOL_GRAD_ARGS)
