// Sparse-attention kernels without per-ISA variants (index building, small selections, Elias–Fano
// hash tables, MagicPIG's weight formula) and the public entry points of those that have them
// (through the kernel table, ck_table.h).
#include "ck_table.h"

void ck_sketch_scores(const uint8_t *blocks, int nblocks, int hd, const float *q, int nq, const float *reference,
                      float inv_delta, int16_t *out) {
    int32_t row_bias[CK_SPARSE_MAX_GROUP];
    for (int r = 0; r < nq && r < CK_SPARSE_MAX_GROUP; r++) {
        float t = -reference[r] * inv_delta;
        t = t > 16777216.0f ? 16777216.0f : t < -16777216.0f ? -16777216.0f : t;
        row_bias[r] = (int32_t)rintf(t);
    }
    ck_kernels()->sketch_scores(blocks, nblocks, hd, q, nq, row_bias, inv_delta, out);
}
int ck_bucket_topk_i16(const int16_t *scores, int n, int buckets, int keep, int32_t *out) {
    return ck_kernels()->bucket_topk_i16(scores, n, buckets, keep, out);
}
void ck_gather_dot_f16(const float *q, int nq, int hd, const uint16_t *rows, int64_t row_stride, const int32_t *idx, int n,
                       float *out, int64_t out_stride) {
    ck_kernels()->gather_dot_f16(q, nq, hd, rows, row_stride, idx, n, out, out_stride);
}
void ck_sparse_accumulate(int kind, const float *scores, int64_t score_stride, int nq, int hd, const void *const *pages,
                          const uint8_t *slots, int n, float *m, float *l, float *acc) {
    ck_kernels()->sparse_accumulate(kind, scores, score_stride, nq, hd, pages, slots, n, m, l, acc);
}
void ck_simhash(const float *keys, int n, int hd, const float *mean, const float *proj, int bits, int tables, uint16_t *codes) {
    ck_kernels()->simhash(keys, n, hd, mean, proj, bits, tables, codes);
}

// ---- sketch ----

void ck_sketch_encode(const float *keys, int n, int hd, uint8_t *block) {
    memset(block, 0, (size_t)ck_sketch_block_bytes(hd));
    float *lo = (float *)ck_sketch_lows(block, hd), *step = (float *)ck_sketch_steps(block, hd);
    for (int d = 0; d < hd; d++) {
        float mn = n > 0 ? keys[d] : 0, mx = mn;
        for (int i = 1; i < n; i++) {
            const float k = keys[(int64_t)i * hd + d];
            mn = k < mn ? k : mn;
            mx = k > mx ? k : mx;
        }
        lo[d] = mn;
        step[d] = (mx - mn) / 15;
        const float inv = mx > mn ? 15 / (mx - mn) : 0;
        for (int i = 0; i < n; i++) {
            float c = rintf((keys[(int64_t)i * hd + d] - mn) * inv);
            const int code = c < 0 ? 0 : c > 15 ? 15 : (int)c;
            const int o = d / 8, j = d % 8;
            block[o * 256 + i * 4 + (j & 3)] |= (uint8_t)(j < 4 ? code : code << 4);
        }
    }
}

float ck_sketch_inv_delta(const float *q, int nq, int hd, const float *max_step) {
    float widest = 0;
    for (int r = 0; r < nq; r++)
        for (int d = 0; d < hd; d++) {
            const float w = fabsf(q[r * hd + d] * max_step[d]);
            widest = w > widest ? w : widest;
        }
    return widest > 0 ? 127 / widest : 0;
}

static double ck_log_choose(int n, int k) { return lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0); }

double ck_bucket_topk_recall(int n, int buckets, int keep, int k) {
    if (k <= 0 || buckets <= 0) return 1;
    const int size = n / buckets;
    double lost = 0;
    for (int r = keep + 1; r <= (k < size ? k : size); r++) {
        if (size - r > n - k) continue;
        double lp = ck_log_choose(k, r) + ck_log_choose(n - k, size - r) - ck_log_choose(n, size);
        lost += (r - keep) * exp(lp);
    }
    double recall = 1 - (double)buckets / k * lost;
    return recall < 0 ? 0 : recall;
}

// ---- selection ----

static inline float ck_key(float s) { return s != s ? -INFINITY : s; } // NaN never wins
static inline int ck_worse(const float *s, int32_t a, int32_t b) { // a ranks below b
    float x = ck_key(s[a]), y = ck_key(s[b]);
    return x < y || (x == y && a > b);
}

static void ck_sift_down(const float *s, int32_t *heap, int count, int i) { // min-heap by rank
    for (;;) {
        int c = 2 * i + 1;
        if (c >= count) return;
        if (c + 1 < count && ck_worse(s, heap[c + 1], heap[c])) c++;
        if (!ck_worse(s, heap[c], heap[i])) return;
        int32_t t = heap[c]; heap[c] = heap[i]; heap[i] = t;
        i = c;
    }
}

int ck_select_topk(const float *scores, int n, int k, int32_t *idx) {
    if (k > n) k = n;
    if (k <= 0) return 0;
    for (int i = 0; i < k; i++) idx[i] = i;
    for (int i = k / 2 - 1; i >= 0; i--) ck_sift_down(scores, idx, k, i);
    for (int i = k; i < n; i++)
        if (ck_worse(scores, idx[0], i)) { idx[0] = i; ck_sift_down(scores, idx, k, 0); }
    for (int end = k - 1; end > 0; end--) { // heap sort: the worst goes to the back
        int32_t t = idx[0]; idx[0] = idx[end]; idx[end] = t;
        ck_sift_down(scores, idx, end, 0);
    }
    return k;
}

/// Partially orders v[0..n) (descending) so that v[want] holds the value of rank `want`; returns it.
static float ck_quickselect_desc(float *v, int n, int want) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        float a = v[lo], b = v[mid], c = v[hi]; // median of three as pivot
        float pivot = a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b));
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] > pivot) i++;
            while (v[j] < pivot) j--;
            if (i <= j) { float t = v[i]; v[i] = v[j]; v[j] = t; i++; j--; }
        }
        if (want <= j) hi = j;
        else if (want >= i) lo = i;
        else break; // v[want] == pivot
    }
    return v[want];
}

int ck_select_topk_unsorted(const float *scores, int n, int k, int32_t *idx, float *v) {
    if (k <= 0) return 0;
    if (k >= n) { for (int i = 0; i < n; i++) idx[i] = i; return n; }
    for (int i = 0; i < n; i++) v[i] = ck_key(scores[i]);
    const float threshold = ck_quickselect_desc(v, n, k - 1);
    int count = 0;
    for (int i = 0; i < n; i++) if (ck_key(scores[i]) > threshold) count++;
    int ties = k - count; // keys equal to the threshold that make it, lowest indices first
    int c = 0;
    for (int i = 0; i < n && c < k; i++) {
        float s = ck_key(scores[i]);
        if (s > threshold || (s == threshold && ties-- > 0)) idx[c++] = i;
    }
    return c;
}

float ck_kth_largest(const float *scores, int n, int k, float *v) {
    if (k <= 0) return INFINITY;
    if (k > n) return -INFINITY;
    if (k == n) { // the minimum: no select needed
        float lo = INFINITY;
        for (int i = 0; i < n; i++) { float s = ck_key(scores[i]); lo = s < lo ? s : lo; }
        return lo;
    }
    for (int i = 0; i < n; i++) v[i] = ck_key(scores[i]);
    return ck_quickselect_desc(v, n, k - 1);
}

// ---- Elias–Fano hash tables ----
//
// Table of n tokens with `bits`-bit codes: values v = (code << T) | token, T = ⌈log2 n⌉, sorted.
// Low parts: the low ℓ = min(bits, T) bits of each v, packed little-endian. High parts h = v >> ℓ
// in unary: element i sets bit h_i + i of the bitmap, so there are 2^(bits + T − ℓ) zeros; bucket
// `code` holds the elements with h in [code << hb, (code + 1) << hb), hb = T − ℓ. Every 16th
// bucket's first element index is sampled. Layout: samples u32 [2^bits/16 + 1] | bitmap u64 | low bits.

typedef struct { int T, low, hb, samples; size_t bitmap_words, low_bytes, samples_bytes; } ck_ef_shape;

static ck_ef_shape ck_ef(int n, int bits) {
    ck_ef_shape s;
    s.T = 1;
    while ((1 << s.T) < n) s.T++;
    s.low = bits < s.T ? bits : s.T;
    s.hb = s.T - s.low;
    s.samples = ((1 << bits) + 15) / 16 + 1;
    s.samples_bytes = ((size_t)s.samples * 4 + 7) & ~(size_t)7;
    s.bitmap_words = ((size_t)n + ((size_t)1 << (bits + s.hb)) + 63) / 64 + 1;
    s.low_bytes = (((size_t)n * s.low + 7) / 8 + 8 + 7) & ~(size_t)7;
    return s;
}

size_t ck_lsh_table_bytes(int n, int bits) {
    ck_ef_shape s = ck_ef(n, bits);
    return s.samples_bytes + s.bitmap_words * 8 + s.low_bytes;
}

void ck_lsh_table_build(const uint16_t *codes, int64_t stride, int n, int bits, void *table, int32_t *scratch) {
    ck_ef_shape s = ck_ef(n, bits);
    const int nb = 1 << bits;
    uint32_t *samples = table;
    uint64_t *bitmap = (uint64_t *)((uint8_t *)table + s.samples_bytes);
    uint8_t *low = (uint8_t *)(bitmap + s.bitmap_words);
    memset(table, 0, ck_lsh_table_bytes(n, bits));
    int32_t *start = scratch, *order = scratch + nb + 1; // bucket starts, then tokens by bucket
    memset(start, 0, sizeof(int32_t) * (size_t)(nb + 1));
    for (int t = 0; t < n; t++) start[(codes[(int64_t)t * stride] & (nb - 1)) + 1]++;
    for (int b = 0; b < nb; b++) start[b + 1] += start[b];
    for (int b = 0; b < nb; b += 16) samples[b / 16] = (uint32_t)start[b];
    samples[s.samples - 1] = (uint32_t)n;
    for (int t = 0; t < n; t++) order[start[codes[(int64_t)t * stride] & (nb - 1)]++] = t; // stable: tokens ascend
    const uint64_t lowmask = s.low ? ((uint64_t)1 << s.low) - 1 : 0;
    int i = 0;
    for (int b = 0; b < nb; b++) {
        int end = start[b]; // after the scatter, start[b] is the end of bucket b
        for (; i < end; i++) {
            uint64_t v = ((uint64_t)b << s.T) | (uint64_t)order[i];
            uint64_t h = v >> s.low, pos = h + (uint64_t)i;
            bitmap[pos >> 6] |= (uint64_t)1 << (pos & 63);
            uint64_t lv = v & lowmask, bit = (uint64_t)i * s.low, w;
            memcpy(&w, low + (bit >> 3), 8);
            w |= lv << (bit & 7);
            memcpy(low + (bit >> 3), &w, 8);
        }
    }
}

/// Position (0-based) of the k-th (1-based) set bit of x: portable, and with BMI2's pdep.
static inline int ck_select_portable(uint64_t x, uint64_t k) {
    for (uint64_t i = 1; i < k; i++) x &= x - 1;
    return __builtin_ctzll(x);
}
#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("bmi2,popcnt"))) static inline int ck_select_bmi2(uint64_t x, uint64_t k) {
    return (int)_tzcnt_u64(_pdep_u64((uint64_t)1 << (k - 1), x));
}
#define CK_BMI2_TARGET __attribute__((target("bmi2,popcnt")))
#else
#define ck_select_bmi2 ck_select_portable
#define CK_BMI2_TARGET
#endif

/// Moves *pos just past the `need`-th zero of the bitmap at or after *pos (need ≥ 1), adding the
/// ones passed to *ones.
#define CK_EF_SKIP(bitmap, pos, ones, need, SELECT)                                                   \
    do {                                                                                              \
        uint64_t need__ = (need);                                                                     \
        for (;;) {                                                                                    \
            const int off__ = (int)((pos) & 63), avail__ = 64 - off__;                                \
            uint64_t zeros__ = ~((bitmap)[(pos) >> 6] >> off__);                                      \
            if (avail__ < 64) zeros__ &= ((uint64_t)1 << avail__) - 1;                                \
            const uint64_t nz__ = (uint64_t)__builtin_popcountll(zeros__);                            \
            if (nz__ < need__) { need__ -= nz__; (ones) += (uint64_t)avail__ - nz__; (pos) += (uint64_t)avail__; continue; } \
            const int q__ = SELECT(zeros__, need__);                                                  \
            (ones) += (uint64_t)(q__ + 1) - need__;                                                   \
            (pos) += (uint64_t)q__ + 1;                                                               \
            break;                                                                                    \
        }                                                                                             \
    } while (0)

/// Locates bucket `code` (`s_` its table's shape): its elements are the ones of bitmap positions
/// [pos_, end_), count_ of them, the first being element e_. The bucket starts after zero number
/// code·2^hb (located from the sample of its group of 16 buckets) and ends with the next 2^hb zeros.
#define CK_EF_LOCATE(table, s_, code, pos_, end_, e_, count_, SELECT)                                    \
    do {                                                                                                 \
        const uint32_t *samples__ = (const uint32_t *)(table);                                          \
        const uint64_t *bitmap__ = (const uint64_t *)((const uint8_t *)(table) + (s_).samples_bytes);   \
        const int b0__ = (code) & ~15;                                                                   \
        (e_) = samples__[b0__ / 16];                                                                     \
        (pos_) = (e_) + ((uint64_t)b0__ << (s_).hb);                                                     \
        if ((code) > b0__) CK_EF_SKIP(bitmap__, (pos_), (e_), (uint64_t)((code) - b0__) << (s_).hb, SELECT); \
        (end_) = (pos_);                                                                                 \
        (count_) = 0;                                                                                    \
        CK_EF_SKIP(bitmap__, (end_), (count_), (uint64_t)1 << (s_).hb, SELECT);                          \
    } while (0)

/// Calls EMIT(token) for the tokens of a bucket CK_EF_LOCATE found, in ascending order: a one at
/// position p, the i-th of the bucket, has (p − pos_) − i zeros of the bucket before it (the
/// token's high bits); its low bits are element e_ + i's.
#define CK_EF_EMIT_BUCKET(table, s_, pos_, end_, e_, count_, EMIT)                                       \
    do {                                                                                                 \
        const uint64_t *bitmap_ = (const uint64_t *)((const uint8_t *)(table) + (s_).samples_bytes);    \
        const uint8_t *low_ = (const uint8_t *)(bitmap_ + (s_).bitmap_words);                           \
        const uint64_t lowmask_ = (s_).low ? ((uint64_t)1 << (s_).low) - 1 : 0;                         \
        uint64_t i_ = 0;                                                                                 \
        for (uint64_t p_ = (pos_); i_ < (count_);) {                                                     \
            const int off_ = (int)(p_ & 63);                                                             \
            uint64_t w_ = bitmap_[p_ >> 6] >> off_;                                                      \
            const uint64_t span_ = (uint64_t)(64 - off_) < (end_) - p_ ? (uint64_t)(64 - off_) : (end_) - p_; \
            if (span_ < 64) w_ &= ((uint64_t)1 << span_) - 1;                                            \
            while (w_) {                                                                                 \
                const uint64_t at_ = p_ + (uint64_t)__builtin_ctzll(w_) - (pos_);                        \
                const uint64_t e2_ = (e_) + i_, bit_ = e2_ * (uint64_t)(s_).low;                         \
                uint64_t lw_;                                                                            \
                memcpy(&lw_, low_ + (bit_ >> 3), 8);                                                     \
                const int32_t token_ = (int32_t)(((at_ - i_) << (s_).low) | ((lw_ >> (bit_ & 7)) & lowmask_)); \
                EMIT(token_);                                                                            \
                i_++;                                                                                    \
                w_ &= w_ - 1;                                                                            \
            }                                                                                            \
            p_ += span_;                                                                                 \
        }                                                                                                \
    } while (0)

/// Walks bucket `code`: calls EMIT(token) for each of its tokens in ascending order.
#define CK_EF_WALK(table, n, bits, code, EMIT, SELECT)                                                   \
    do {                                                                                                 \
        const ck_ef_shape sw_ = ck_ef((n), (bits));                                                      \
        uint64_t posw_, endw_, ew_, countw_;                                                             \
        CK_EF_LOCATE((table), sw_, (code), posw_, endw_, ew_, countw_, SELECT);                          \
        CK_EF_EMIT_BUCKET((table), sw_, posw_, endw_, ew_, countw_, EMIT);                               \
    } while (0)

int ck_lsh_table_bucket(const void *table, int n, int bits, int code, int32_t *out) {
    int count = 0;
#define CK_EMIT_OUT(t) (out[count++] = (t))
    CK_EF_WALK(table, n, bits, code, CK_EMIT_OUT, ck_select_portable);
#undef CK_EMIT_OUT
    return count;
}

/// A collision of token t: its state byte becomes s | s << 1 | 1 — bit 0 from the first collision on,
/// bit 1 from the second on (MagicPIG's ≥ 2 rule). Branch-free: half the hits of a query are a
/// token's first and half its second or later, which a branch on the state would mispredict.
#define CK_HIT(t)                                                  \
    do {                                                           \
        uint8_t *s__ = state + (t);                                \
        *s__ = (uint8_t)(*s__ | (uint8_t)(*s__ << 1) | 1u);        \
    } while (0)

/// Collision counting is bound by memory latency (three dependent reads per table: sample,
/// bitmap, low bits, in tables far larger than the caches), so it runs in stages over a chunk of
/// tables, each issuing every table's next read before any is used: prefetch the samples; read
/// them and prefetch the bitmap lines of the buckets' groups; locate the buckets and prefetch
/// their low bits; walk.
#define CK_LSH_CHUNK 256
#define CK_LSH_COUNT_BODY(SELECT)                                                                        \
    memset(state, 0, (size_t)n + (size_t)(ext_tokens > 0 ? ext_tokens : 0));                             \
    if (n > 0) {                                                                                         \
        const ck_ef_shape sh = ck_ef(n, bits);                                                           \
        uint64_t pos[CK_LSH_CHUNK], end[CK_LSH_CHUNK], first[CK_LSH_CHUNK], size[CK_LSH_CHUNK];          \
        for (int t0 = 0; t0 < ntables; t0 += CK_LSH_CHUNK) {                                             \
            const int t1 = ntables - t0 < CK_LSH_CHUNK ? ntables : t0 + CK_LSH_CHUNK;                    \
            for (int t = t0; t < t1; t++)                                                                \
                __builtin_prefetch(tables + (size_t)t * table_stride + (qcodes[t] >> 4) * 4, 0, 3);      \
            for (int t = t0; t < t1; t++) {                                                              \
                const uint8_t *table = tables + (size_t)t * table_stride;                                \
                const int b0 = qcodes[t] & ~15;                                                          \
                const uint64_t at = ((const uint32_t *)table)[b0 / 16] + ((uint64_t)b0 << sh.hb);        \
                const uint8_t *bitmap = table + sh.samples_bytes;                                        \
                __builtin_prefetch(bitmap + (at >> 6) * 8, 0, 3);                                        \
                __builtin_prefetch(bitmap + (at >> 6) * 8 + 64, 0, 3);                                   \
            }                                                                                            \
            for (int t = t0; t < t1; t++) {                                                              \
                const uint8_t *table = tables + (size_t)t * table_stride;                                \
                const int i = t - t0;                                                                    \
                CK_EF_LOCATE(table, sh, qcodes[t], pos[i], end[i], first[i], size[i], SELECT);          \
                const uint8_t *low = table + sh.samples_bytes + sh.bitmap_words * 8;                     \
                const uint64_t a = first[i] * (uint64_t)sh.low / 8, b = (first[i] + size[i]) * (uint64_t)sh.low / 8 + 8; \
                for (uint64_t o = a & ~(uint64_t)63; o < b; o += 64) __builtin_prefetch(low + o, 0, 3);   \
            }                                                                                            \
            for (int t = t0; t < t1; t++) {                                                              \
                const int i = t - t0;                                                                    \
                CK_EF_EMIT_BUCKET(tables + (size_t)t * table_stride, sh, pos[i], end[i], first[i], size[i], CK_HIT); \
            }                                                                                            \
        }                                                                                                \
    }                                                                                                    \
    const int pages = (ext_tokens + 63) / 64;                                                            \
    for (int p = 0; p < pages; p++) {                                                                    \
        const int valid = ext_tokens - 64 * p < 64 ? ext_tokens - 64 * p : 64;                          \
        uint8_t *s = state + n + 64 * p;                                                                 \
        for (int t = 0; t < ntables; t++) {                                                              \
            const uint16_t *c = ext + ((int64_t)p * ntables + t) * 64, qc = qcodes[t];                   \
            for (int j = 0; j < valid; j++) {                                                            \
                const uint8_t hit = (uint8_t)(c[j] == qc);                                               \
                s[j] = (uint8_t)(s[j] | ((uint8_t)(s[j] << 1) & (uint8_t)-hit) | hit);                   \
            }                                                                                            \
        }                                                                                                \
    }

void ck_lsh_count_portable(const uint8_t *tables, size_t table_stride, int n, int bits, int ntables, const uint16_t *qcodes,
                                  const uint16_t *ext, int ext_tokens, uint8_t *state) {
    CK_LSH_COUNT_BODY(ck_select_portable)
}

CK_BMI2_TARGET void ck_lsh_count_bmi2(const uint8_t *tables, size_t table_stride, int n, int bits, int ntables,
                                             const uint16_t *qcodes, const uint16_t *ext, int ext_tokens, uint8_t *state) {
    CK_LSH_COUNT_BODY(ck_select_bmi2)
}
#undef CK_HIT

void ck_lsh_count(const uint8_t *tables, size_t table_stride, int n, int bits, int ntables, const uint16_t *qcodes,
                  const uint16_t *ext, int ext_tokens, uint8_t *state) {
    ck_kernels()->lsh_count(tables, table_stride, n, bits, ntables, qcodes, ext, ext_tokens, state);
}

/// Rows of token t sampled (bit 1 of their state byte) as a mask; appended to out/rows when any.
static inline int ck_lsh_union_one(const uint8_t *state, int64_t row_stride, int nq, int t, int count, int32_t *out, uint32_t *rows) {
    uint32_t m = 0;
    for (int r = 0; r < nq; r++) m |= (uint32_t)(state[r * row_stride + t] >> 1 & 1) << r;
    if (m) { out[count] = t; rows[count] = m; count++; }
    return count;
}

int ck_lsh_union(const uint8_t *state, int64_t row_stride, int nq, int lo, int hi, int32_t *out, uint32_t *rows) {
    int count = 0, t = lo;
    for (; t < hi && (t & 7); t++) count = ck_lsh_union_one(state, row_stride, nq, t, count, out, rows);
    for (; t + 8 <= hi; t += 8) { // eight tokens at a time: skip those no row samples
        uint64_t any = 0;
        for (int r = 0; r < nq; r++) {
            uint64_t w;
            memcpy(&w, state + r * row_stride + t, 8);
            any |= w;
        }
        any &= 0x0202020202020202ull;
        while (any) {
            count = ck_lsh_union_one(state, row_stride, nq, t + (__builtin_ctzll(any) >> 3), count, out, rows);
            any &= any - 1;
        }
    }
    for (; t < hi; t++) count = ck_lsh_union_one(state, row_stride, nq, t, count, out, rows);
    return count;
}

void ck_lsh_weigh(float *logits, const int32_t *idx, const uint32_t *rows, uint32_t bit, int n, float qnorm, float qmean,
                  const float *norms, const float *log_w, int intervals) {
    const float half = 0.5f * (float)intervals;
    for (int i = 0; i < n; i++) {
        if (!(rows[i] & bit)) { logits[i] = -INFINITY; continue; }
        const float s = logits[i], norm = norms[idx[i]];
        float c = qnorm > 0 && norm > 0 ? (s - qmean) / (qnorm * norm) : 0;
        c = c < -1 ? -1 : c > 1 ? 1 : c;
        const float x = (c + 1) * half;
        int j = (int)x;
        j = j > intervals - 1 ? intervals - 1 : j;
        const float f = x - (float)j;
        logits[i] = s - (log_w[j] + f * (log_w[j + 1] - log_w[j]));
    }
}

double ck_lsh_log_weight(double c, int bits, int tables) {
    c = c > 1 ? 1 : c < -1 ? -1 : c;
    const double p = pow(1 - acos(c) / M_PI, bits), L = tables;
    double w;
    if (L * p < 0.5) { // upper tail Σ_{j≥2} C(L,j) p^j (1−p)^(L−j): no cancellation for small p
        w = 0;
        if (p > 0)
            for (int j = 2; j <= tables; j++) {
                double term = exp(ck_log_choose(tables, j) + j * log(p) + (L - j) * log1p(-p));
                w += term;
                if (term < 1e-18 * w) break;
            }
    } else {
        w = 1 - exp(L * log1p(-p)) - L * p * exp((L - 1) * log1p(-p));
    }
    return log(w);
}
