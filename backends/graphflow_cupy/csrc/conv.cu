// Convolution without cuDNN: im2col before a cuBLAS GEMM, col2im (a gather, so no
// atomics and a fixed summation order) after one.
//
// Geometry (all of index type I): batch N, input H x W x C, kernel KH x KW, output
// OH x OW, strides SH SW, dilation DH DW, padding top PT and left PL. The input or the
// input gradient is addressed through element strides sN sH sW sC, so either data format
// (and any view) is read or written in place. The column matrix is (N*OH*OW, KH*KW*C),
// row (n, oh, ow), column (kh, kw, c): the kernel's (KH, KW, C, O) layout reshaped.

#define GF_GEOMETRY(T, I) I N, I H, I W, I C, I KH, I KW, I OH, I OW, I SH, I SW, I DH, I DW, I PT, I PL, \
    I sN, I sH, I sW, I sC
#define GF_GEOMETRY_ARGS N, H, W, C, KH, KW, OH, OW, SH, SW, DH, DW, PT, PL, sN, sH, sW, sC

// cols[i] for i over N*OH*OW*KH*KW*C: the input pixel under tap (kh, kw) of window (oh, ow)
#define GF_IM2COL_PARAMS(T, I) const T* x, T* cols, GF_GEOMETRY(T, I)
#define GF_IM2COL_ARGS x, cols, GF_GEOMETRY_ARGS
template <typename T, typename I>
GF_HD void gf_im2col_at(I i, GF_IM2COL_PARAMS(T, I)) {
    I r = i;
    I c = r % C; r /= C;
    I kw = r % KW; r /= KW;
    I kh = r % KH; r /= KH;
    I ow = r % OW; r /= OW;
    I oh = r % OH;
    I n = r / OH;
    I h = oh * SH + kh * DH - PT;
    I w = ow * SW + kw * DW - PL;
    cols[i] = (h >= 0 && h < H && w >= 0 && w < W) ? x[n * sN + h * sH + w * sW + c * sC] : (T)0;
}
GF_EACH(gf_im2col, GF_IM2COL_PARAMS, GF_IM2COL_ARGS)

// dx[n, h, w, c] for i over N*H*W*C (c fastest): the sum, taps in (kh, kw) order, of the
// column-gradient entries that pixel was copied to
#define GF_COL2IM_PARAMS(T, I) const T* dcols, T* dx, GF_GEOMETRY(T, I)
#define GF_COL2IM_ARGS dcols, dx, GF_GEOMETRY_ARGS
template <typename T, typename I>
GF_HD void gf_col2im_at(I i, GF_COL2IM_PARAMS(T, I)) {
    I r = i;
    I c = r % C; r /= C;
    I w = r % W; r /= W;
    I h = r % H;
    I n = r / H;
    I row_len = KH * KW * C;
    T acc = 0;
    for (I kh = 0; kh < KH; ++kh) {
        I hh = h + PT - kh * DH;
        if (hh < 0 || hh % SH != 0) continue;
        I oh = hh / SH;
        if (oh >= OH) continue;
        for (I kw = 0; kw < KW; ++kw) {
            I ww = w + PL - kw * DW;
            if (ww < 0 || ww % SW != 0) continue;
            I ow = ww / SW;
            if (ow >= OW) continue;
            acc += dcols[((n * OH + oh) * OW + ow) * row_len + (kh * KW + kw) * C + c];
        }
    }
    dx[n * sN + h * sH + w * sW + c * sC] = acc;
}
GF_EACH(gf_col2im, GF_COL2IM_PARAMS, GF_COL2IM_ARGS)
