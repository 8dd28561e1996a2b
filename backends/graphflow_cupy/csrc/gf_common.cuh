// graphflow's CUDA helpers, put in front of every kernel source the CuPy backend compiles.
//
// The same text is compiled three ways: by NVRTC on a GPU machine (through CuPy), by nvcc
// in the test suite (syntax and types, no GPU needed), and by the host C++ compiler for the
// CPU harness that runs each kernel's per-element function on NumPy arrays. So nothing
// here includes a header under NVRTC, and everything a kernel computes per element is a
// GF_HD function (host and device).
//
// Semantics follow NumPy's ufuncs, not C's where they differ: maximum/minimum propagate
// NaN, integer floor division and remainder round toward minus infinity (0 for a zero
// divisor), float floor division and remainder are NumPy's npy_divmod.

#if defined(__CUDACC__)
#define GF_HD __host__ __device__ __forceinline__
#else
#define GF_HD inline
#include <math.h>
#endif

// ---------------------------------------------------------------- math, float and double
#define GF_MATH1(name, f32, f64) \
    GF_HD float name(float x) { return f32(x); } \
    GF_HD double name(double x) { return f64(x); }
#define GF_MATH2(name, f32, f64) \
    GF_HD float name(float x, float y) { return f32(x, y); } \
    GF_HD double name(double x, double y) { return f64(x, y); }

GF_MATH1(gf_exp, expf, exp)
GF_MATH1(gf_log, logf, log)
GF_MATH1(gf_log1p, log1pf, log1p)
GF_MATH1(gf_expm1, expm1f, expm1)
GF_MATH1(gf_sqrt, sqrtf, sqrt)
GF_MATH1(gf_tanh, tanhf, tanh)
GF_MATH1(gf_floor, floorf, floor)
GF_MATH1(gf_cos, cosf, cos)
GF_MATH1(gf_sin, sinf, sin)
GF_MATH2(gf_fmod, fmodf, fmod)
GF_MATH2(gf_powf, powf, pow)
GF_MATH2(gf_copysign, copysignf, copysign)

GF_HD double gf_inf() {
    union { unsigned long long u; double d; } v;
    v.u = 0x7ff0000000000000ULL;
    return v.d;
}
GF_HD double gf_nan() {
    union { unsigned long long u; double d; } v;
    v.u = 0x7ff8000000000000ULL;
    return v.d;
}

// ---------------------------------------------------------------- NumPy ufunc semantics
template <typename T> GF_HD T gf_max(T a, T b) { return (a != a || a > b) ? a : b; }
template <typename T> GF_HD T gf_min(T a, T b) { return (a != a || a < b) ? a : b; }
template <typename T> GF_HD T gf_clip(T x, T lo, T hi) { return gf_min(gf_max(x, lo), hi); }

template <typename T> GF_HD T gf_abs(T x) { return x < 0 ? (T)(-x) : x; }
GF_HD float gf_abs(float x) { return fabsf(x); }
GF_HD double gf_abs(double x) { return fabs(x); }

template <typename T> GF_HD T gf_sign(T x) { return x != x ? x : (T)((x > 0) - (x < 0)); }

template <typename T> GF_HD bool gf_isfinite(T) { return true; }
GF_HD bool gf_isfinite(float x) { return (x - x) == 0.0f; }
GF_HD bool gf_isfinite(double x) { return (x - x) == 0.0; }

// integers: NumPy gives 0 for a zero divisor and rounds toward minus infinity
template <typename T> GF_HD T gf_floordiv(T a, T b) {
    if (b == 0) return (T)0;
    T q = (T)(a / b);
    if ((T)(a % b) != 0 && ((a < 0) != (b < 0))) q = (T)(q - 1);
    return q;
}
template <typename T> GF_HD T gf_mod(T a, T b) {
    if (b == 0) return (T)0;
    T r = (T)(a % b);
    if (r != 0 && ((r < 0) != (b < 0))) r = (T)(r + b);
    return r;
}
template <typename T> GF_HD T gf_pow(T a, T b) {  // integer power by squaring
    if (b < 0) return (T)(a == 1 ? 1 : (a == (T)-1 ? ((b & 1) ? -1 : 1) : 0));
    T r = 1;
    while (b) {
        if (b & 1) r = (T)(r * a);
        a = (T)(a * a);
        b = (T)(b >> 1);
    }
    return r;
}

// floats: NumPy's npy_divmod
#define GF_FLOAT_DIVMOD(T) \
    GF_HD T gf_mod(T a, T b) { \
        T m = gf_fmod(a, b); \
        if (b == 0) return m; \
        if (m != 0) { if ((b < 0) != (m < 0)) m += b; } \
        else m = gf_copysign((T)0, b); \
        return m; \
    } \
    GF_HD T gf_floordiv(T a, T b) { \
        if (b == 0) return a / b; \
        T m = gf_fmod(a, b); \
        T d = (a - m) / b; \
        if (m != 0 && ((b < 0) != (m < 0))) d -= (T)1; \
        if (d == 0) return gf_copysign((T)0, a / b); \
        T f = gf_floor(d); \
        if (d - f > (T)0.5) f += (T)1; \
        return f; \
    } \
    GF_HD T gf_pow(T a, T b) { return gf_powf(a, b); }
GF_FLOAT_DIVMOD(float)
GF_FLOAT_DIVMOD(double)

// the NumPy backend's formulas, step for step (so float32 results round alike)
template <typename T> GF_HD T gf_sigmoid(T x) { return (gf_tanh(x * (T)0.5) + (T)1) * (T)0.5; }
template <typename T> GF_HD T gf_softplus(T x) { return gf_max(x, (T)0) + gf_log1p(gf_exp(-gf_abs(x))); }
template <typename T> GF_HD T gf_elu(T x, T alpha) { return x > 0 ? x : alpha * gf_expm1(gf_min(x, (T)0)); }

// ---------------------------------------------------------------- Philox-4x32-10
// graphflow's counter-based stream (graphflow/ops/random.py): key = the seed's two
// words, counter block b = (b_lo, b_hi, c_lo, c_hi) for the call counter c.
struct gf_u32x4 { unsigned int x, y, z, w; };

GF_HD gf_u32x4 gf_philox(unsigned long long block, unsigned long long counter,
                         unsigned int k0, unsigned int k1) {
    unsigned int c0 = (unsigned int)block, c1 = (unsigned int)(block >> 32);
    unsigned int c2 = (unsigned int)counter, c3 = (unsigned int)(counter >> 32);
    for (int r = 0; r < 10; ++r) {
        if (r) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        unsigned long long p0 = (unsigned long long)c0 * 0xD2511F53ull;
        unsigned long long p1 = (unsigned long long)c2 * 0xCD9E8D57ull;
        unsigned int n0 = (unsigned int)(p1 >> 32) ^ c1 ^ k0;
        unsigned int n2 = (unsigned int)(p0 >> 32) ^ c3 ^ k1;
        c0 = n0; c1 = (unsigned int)p1; c2 = n2; c3 = (unsigned int)p0;
    }
    gf_u32x4 out = {c0, c1, c2, c3};
    return out;
}

GF_HD unsigned int gf_word(gf_u32x4 w, int i) { return i == 0 ? w.x : i == 1 ? w.y : i == 2 ? w.z : w.w; }

// products and sums that must round exactly as NumPy's separate operations (no FMA)
#define GF_EXACT(name, T, intrinsic, op) \
    GF_HD T name(T a, T b) { \
        GF_IF_DEVICE(return intrinsic(a, b);) \
        volatile T r = a op b; \
        return r; \
    }
#if defined(__CUDA_ARCH__)
#define GF_IF_DEVICE(...) __VA_ARGS__
#else
#define GF_IF_DEVICE(...)
#endif
GF_EXACT(gf_mul_rn, float, __fmul_rn, *)
GF_EXACT(gf_mul_rn, double, __dmul_rn, *)
GF_EXACT(gf_add_rn, float, __fadd_rn, +)
GF_EXACT(gf_add_rn, double, __dadd_rn, +)

// ---------------------------------------------------------------- row reductions
// A row is reduced by `lanes` threads: a warp (32) on the device, one thread on the host.
template <typename T, typename I> GF_HD T gf_lanes_max(T v, I lanes) {
    GF_IF_DEVICE(for (int o = (int)lanes / 2; o > 0; o /= 2) v = gf_max(v, __shfl_xor_sync(0xffffffffu, v, o));)
    return v;
}
template <typename T, typename I> GF_HD T gf_lanes_sum(T v, I lanes) {
    GF_IF_DEVICE(for (int o = (int)lanes / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);)
    return v;
}

// ---------------------------------------------------------------- one thread per element
// A kernel family is a per-element function name##_at<T, I>(i, PARAMS) plus this macro:
// on the device it becomes the template kernel name<T, I>(n, PARAMS) with a grid-stride
// loop (CuPy instantiates it by name, e.g. "gf_im2col<float, int>"); on the host it
// becomes extern "C" loops name_f32 / name_f64 (index type long long) that the test
// harness calls through ctypes.
#if defined(__CUDACC__)
#define GF_EACH(name, PARAMS, ARGS) \
    template <typename T, typename I> __global__ void name(I n, PARAMS(T, I)) { \
        for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (I)blockDim.x * gridDim.x) \
            name##_at<T, I>(i, ARGS); \
    }
#else
#define GF_EACH(name, PARAMS, ARGS) \
    extern "C" void name##_f32(long long n, PARAMS(float, long long)) { \
        for (long long i = 0; i < n; ++i) name##_at<float, long long>(i, ARGS); \
    } \
    extern "C" void name##_f64(long long n, PARAMS(double, long long)) { \
        for (long long i = 0; i < n; ++i) name##_at<double, long long>(i, ARGS); \
    }
#endif

// A row kernel family: name##_row<T, I>(row, lane, lanes, PARAMS) reduces one row with
// `lanes` cooperating threads. On the device: name<T, I>(rows, PARAMS), one warp per row;
// on the host: extern "C" name_f32 / name_f64 (rows, PARAMS), one thread.
#if defined(__CUDACC__)
#define GF_ROWS(name, PARAMS, ARGS) \
    template <typename T, typename I> __global__ void name(I rows, PARAMS(T, I)) { \
        I lane = (I)(threadIdx.x & 31); \
        I warps = ((I)blockDim.x * gridDim.x) >> 5; \
        for (I row = ((I)blockIdx.x * blockDim.x + threadIdx.x) >> 5; row < rows; row += warps) \
            name##_row<T, I>(row, lane, (I)32, ARGS); \
    }
#else
#define GF_ROWS(name, PARAMS, ARGS) \
    extern "C" void name##_f32(long long rows, PARAMS(float, long long)) { \
        for (long long row = 0; row < rows; ++row) name##_row<float, long long>(row, 0, 1, ARGS); \
    } \
    extern "C" void name##_f64(long long rows, PARAMS(double, long long)) { \
        for (long long row = 0; row < rows; ++row) name##_row<double, long long>(row, 0, 1, ARGS); \
    }
#endif
