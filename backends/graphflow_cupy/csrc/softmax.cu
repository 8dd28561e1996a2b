// softmax, log-softmax and softmax cross-entropy: one warp per row, the maximum
// subtracted before exponentiating (as the NumPy backend), so no logit overflows.
//
// A "row" is the softmax axis of length L; rows are `inner` apart from one element to
// the next (inner = 1 when the axis is the last). x and y are C-contiguous.

#define GF_SOFTMAX_PARAMS(T, I) const T* x, T* y, I L, I inner, I log_mode
#define GF_SOFTMAX_ARGS x, y, L, inner, log_mode
template <typename T, typename I>
GF_HD void gf_softmax_row(I row, I lane, I lanes, GF_SOFTMAX_PARAMS(T, I)) {
    I base = (row / inner) * L * inner + row % inner;
    T m = (T)(-gf_inf());
    for (I k = lane; k < L; k += lanes) m = gf_max(m, x[base + k * inner]);
    m = gf_lanes_max(m, lanes);
    T s = 0;
    for (I k = lane; k < L; k += lanes) s += gf_exp(x[base + k * inner] - m);
    s = gf_lanes_sum(s, lanes);
    if (log_mode) {
        T ls = gf_log(s);
        for (I k = lane; k < L; k += lanes) y[base + k * inner] = (x[base + k * inner] - m) - ls;
    } else {
        for (I k = lane; k < L; k += lanes) y[base + k * inner] = gf_exp(x[base + k * inner] - m) / s;
    }
}
GF_ROWS(gf_softmax, GF_SOFTMAX_PARAMS, GF_SOFTMAX_ARGS)

// loss[row] = -sum_k target[row, k] * log_softmax(logits[row])[k], classes last
#define GF_XENT_PARAMS(T, I) const T* logits, const T* target, T* loss, I L
#define GF_XENT_ARGS logits, target, loss, L
template <typename T, typename I>
GF_HD void gf_softmax_xent_row(I row, I lane, I lanes, GF_XENT_PARAMS(T, I)) {
    const T* x = logits + row * L;
    const T* t = target + row * L;
    T m = (T)(-gf_inf());
    for (I k = lane; k < L; k += lanes) m = gf_max(m, x[k]);
    m = gf_lanes_max(m, lanes);
    T s = 0;
    for (I k = lane; k < L; k += lanes) s += gf_exp(x[k] - m);
    T ls = gf_log(gf_lanes_sum(s, lanes));
    T acc = 0;
    for (I k = lane; k < L; k += lanes) acc += ((x[k] - m) - ls) * t[k];
    acc = gf_lanes_sum(acc, lanes);
    if (lane == 0) loss[row] = -acc;
}
GF_ROWS(gf_softmax_xent, GF_XENT_PARAMS, GF_XENT_ARGS)
