// graphflow's counter-based random draws (graphflow/ops/random.py states the stream):
// one thread per Philox block b, which yields the four words 4b .. 4b+3. The call
// counter is read on the device (a 0-d int64 array), so launching needs no host sync.
// Every value is the NumPy backend's, bit for bit: uniforms, normals' inputs and dropout
// masks are integer work and exact float operations (products rounded as one NumPy
// operation each: gf_mul_rn, never an FMA); normals then go through log/sqrt/cos/sin,
// which may differ from NumPy's in the last bit.

#define GF_KEY(I) I count, unsigned int k0, unsigned int k1, const long long* counter
#define GF_KEY_ARGS count, k0, k1, counter

GF_HD gf_u32x4 gf_block(unsigned long long b, const long long* counter, unsigned int k0, unsigned int k1) {
    return gf_philox(b, (unsigned long long)counter[0], k0, k1);
}

// U[0, 1), then * span and + low when asked: float32 takes one word per element
// ((w >> 8) * 2^-24), float64 two ((hi >> 5) * 2^26 + (lo >> 6)) * 2^-53
#define GF_UNIFORM_PARAMS(T, I) T* out, GF_KEY(I), T span, T low, I scaled, I shifted
#define GF_UNIFORM_ARGS out, GF_KEY_ARGS, span, low, scaled, shifted
template <typename T, typename I>
GF_HD void gf_uniform_at(I b, GF_UNIFORM_PARAMS(T, I)) {
    gf_u32x4 w = gf_block((unsigned long long)b, counter, k0, k1);
    const int per = sizeof(T) <= 4 ? 4 : 2;
    for (int k = 0; k < per; ++k) {
        I j = per * b + k;
        if (j >= count) break;
        T u;
        if (per == 4) {
            u = gf_mul_rn((T)(gf_word(w, k) >> 8), (T)5.9604644775390625e-08);
        } else {
            double hi = (double)(gf_word(w, 2 * k) >> 5), lo = (double)(gf_word(w, 2 * k + 1) >> 6);
            u = (T)((hi * 67108864.0 + lo) * 1.1102230246251565e-16);
        }
        if (scaled) u = gf_mul_rn(u, span);
        if (shifted) u = gf_add_rn(u, low);
        out[j] = u;
    }
}
GF_EACH(gf_uniform, GF_UNIFORM_PARAMS, GF_UNIFORM_ARGS)

// N(0, 1) by Box-Muller on word pairs (2k, 2k+1): u1 = ((w >> 8) + 0.5) 2^-24,
// theta = (w' >> 8) 2pi 2^-24, r = sqrt(-2 log u1); z[2k] = r cos theta, z[2k+1] = r sin theta
#define GF_NORMAL_PARAMS(T, I) T* out, GF_KEY(I), T stddev, T mean, I scaled, I shifted
#define GF_NORMAL_ARGS out, GF_KEY_ARGS, stddev, mean, scaled, shifted
template <typename T, typename I>
GF_HD void gf_normal_at(I b, GF_NORMAL_PARAMS(T, I)) {
    gf_u32x4 w = gf_block((unsigned long long)b, counter, k0, k1);
    for (int p = 0; p < 2; ++p) {
        T u1 = gf_mul_rn((T)(gf_word(w, 2 * p) >> 8) + (T)0.5, (T)5.9604644775390625e-08);
        T theta = gf_mul_rn((T)(gf_word(w, 2 * p + 1) >> 8), (T)3.7450702829239286e-07);
        T r = gf_sqrt(gf_mul_rn((T)-2, gf_log(u1)));
        T z[2] = {gf_mul_rn(r, gf_cos(theta)), gf_mul_rn(r, gf_sin(theta))};
        for (int k = 0; k < 2; ++k) {
            I j = 4 * b + 2 * p + k;
            if (j >= count) return;
            T v = z[k];
            if (scaled) v = gf_mul_rn(v, stddev);
            if (shifted) v = gf_add_rn(v, mean);
            out[j] = v;
        }
    }
}
GF_EACH(gf_normal, GF_NORMAL_PARAMS, GF_NORMAL_ARGS)

// inverted dropout: mask[j] = scale where (w_j >> 8) >= threshold (the float32 uniform
// is >= rate), else 0; with x given (same shape as the mask), y[j] = x[j] * mask[j] too
#define GF_DROPOUT_PARAMS(T, I) const T* x, T* y, T* mask, GF_KEY(I), unsigned int threshold, T scale, I with_x
#define GF_DROPOUT_ARGS x, y, mask, GF_KEY_ARGS, threshold, scale, with_x
template <typename T, typename I>
GF_HD void gf_dropout_at(I b, GF_DROPOUT_PARAMS(T, I)) {
    gf_u32x4 w = gf_block((unsigned long long)b, counter, k0, k1);
    for (int k = 0; k < 4; ++k) {
        I j = 4 * b + k;
        if (j >= count) return;
        T m = (gf_word(w, k) >> 8) >= threshold ? scale : (T)0;
        mask[j] = m;
        if (with_x) y[j] = gf_mul_rn(x[j], m);
    }
}
GF_EACH(gf_dropout, GF_DROPOUT_PARAMS, GF_DROPOUT_ARGS)
