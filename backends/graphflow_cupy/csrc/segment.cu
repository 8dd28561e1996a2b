// Deterministic scatter-adds (the gradients of gather and of the copying pad modes),
// written as gathers: each output element is summed by one thread, in the order NumPy's
// add.at adds (ascending source position), so results are the same on every run and
// match the NumPy backend bit for bit. No atomics.

// out[o, d, q] = sum over k with idx[k] == d (k ascending) of g[o, k, q].
// `order` is a permutation of 0..K-1 that sorts idx stably and `sorted` = idx[order]; the
// thread at a segment's first sorted position (s) sums that segment. i runs over O*K*Q;
// rows of out that no index names are left as they are (the caller zeroes out).
#define GF_SEGSUM_PARAMS(T, I) const T* g, const long long* order, const long long* sorted, T* out, I K, I Q, I D
#define GF_SEGSUM_ARGS g, order, sorted, out, K, Q, D
template <typename T, typename I>
GF_HD void gf_segment_sum_at(I i, GF_SEGSUM_PARAMS(T, I)) {
    I q = i % Q, r = i / Q;
    I s = r % K, o = r / K;
    long long d = sorted[s];
    if ((s > 0 && sorted[s - 1] == d) || d < 0 || d >= D) return;
    T acc = 0;
    for (I t = s; t < K && sorted[t] == d; ++t) acc += g[(o * K + (I)order[t]) * Q + q];
    out[(o * D + (I)d) * Q + q] = acc;
}
GF_EACH(gf_segment_sum, GF_SEGSUM_PARAMS, GF_SEGSUM_ARGS)

// folded[o, j, q] = sum over padded positions p copied from j (p ascending) of g[o, p, q]:
// positions[offsets[j] .. offsets[j+1]) lists those p. i runs over O*N*Q (N = unpadded
// length, M = padded length).
#define GF_UNPAD_PARAMS(T, I) const T* g, const long long* offsets, const long long* positions, T* folded, \
    I N, I M, I Q
#define GF_UNPAD_ARGS g, offsets, positions, folded, N, M, Q
template <typename T, typename I>
GF_HD void gf_unpad_at(I i, GF_UNPAD_PARAMS(T, I)) {
    I q = i % Q, r = i / Q;
    I j = r % N, o = r / N;
    T acc = 0;
    for (long long k = offsets[j]; k < offsets[j + 1]; ++k) acc += g[(o * M + (I)positions[k]) * Q + q];
    folded[i] = acc;
}
GF_EACH(gf_unpad, GF_UNPAD_PARAMS, GF_UNPAD_ARGS)
