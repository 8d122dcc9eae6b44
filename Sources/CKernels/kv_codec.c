// Helpers of the KV page codec (KVCache's LZ4PageCodec): the XXH64 checksum and the shuffle
// filters applied before LZ4. Portable C (the codec runs when pages leave RAM, not per token).
//
// XXH64 follows xxHash's specification (github.com/Cyan4973/xxHash, doc/xxhash_spec.md);
// byte shuffle is the HDF5/Blosc "shuffle" filter; bit shuffle is the HDF5 "bitshuffle" idea
// (Masui et al. 2015) on bytes, after a zigzag map so that small signed codes have zero high bits.
#include "ck_kv_internal.h"

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define P5 0x27D4EB2F165667C5ULL

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t read64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; } // little-endian hosts
static inline uint32_t read32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t xxh_round(uint64_t acc, uint64_t input) { return rotl64(acc + input * P2, 31) * P1; }
static inline uint64_t xxh_merge(uint64_t acc, uint64_t v) { return (acc ^ xxh_round(0, v)) * P1 + P4; }

uint64_t ck_xxh64(const void *data, size_t n, uint64_t seed) {
    const uint8_t *p = (const uint8_t *)data, *end = p + n;
    uint64_t h;
    if (n >= 32) {
        uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        do {
            v1 = xxh_round(v1, read64(p));
            v2 = xxh_round(v2, read64(p + 8));
            v3 = xxh_round(v3, read64(p + 16));
            v4 = xxh_round(v4, read64(p + 24));
            p += 32;
        } while (p + 32 <= end);
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = xxh_merge(xxh_merge(xxh_merge(xxh_merge(h, v1), v2), v3), v4);
    } else {
        h = seed + P5;
    }
    h += (uint64_t)n;
    for (; p + 8 <= end; p += 8) h = rotl64(h ^ xxh_round(0, read64(p)), 27) * P1 + P4;
    if (p + 4 <= end) { h = rotl64(h ^ ((uint64_t)read32(p) * P1), 23) * P2 + P3; p += 4; }
    for (; p < end; p++) h = rotl64(h ^ (*p * P5), 11) * P1;
    h ^= h >> 33; h *= P2;
    h ^= h >> 29; h *= P3;
    h ^= h >> 32;
    return h;
}

void ck_byte_shuffle(const uint8_t *src, uint8_t *dst, size_t n, int width) {
    size_t count = n / (size_t)width;
    for (size_t i = 0; i < count; i++)
        for (int k = 0; k < width; k++) dst[(size_t)k * count + i] = src[i * (size_t)width + k];
}

void ck_byte_unshuffle(const uint8_t *src, uint8_t *dst, size_t n, int width) {
    size_t count = n / (size_t)width;
    for (size_t i = 0; i < count; i++)
        for (int k = 0; k < width; k++) dst[i * (size_t)width + k] = src[(size_t)k * count + i];
}

/// Transposes the 8×8 bit matrix whose row i is byte i of x (Hacker's Delight, transpose8).
static inline uint64_t transpose8(uint64_t x) {
    uint64_t t;
    t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAULL; x = x ^ t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCULL; x = x ^ t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ULL; x = x ^ t ^ (t << 28);
    return x;
}

static inline uint8_t zigzag(uint8_t b) { return (uint8_t)((uint8_t)(b << 1) ^ (uint8_t)((int8_t)b >> 7)); }
static inline uint8_t unzigzag(uint8_t u) { return (uint8_t)((u >> 1) ^ (uint8_t)(-(int)(u & 1))); }

void ck_bit_shuffle(const uint8_t *src, uint8_t *dst, size_t n) {
    size_t planes = n / 8;
    for (size_t k = 0; k < planes; k++) {
        uint8_t row[8];
        for (int i = 0; i < 8; i++) row[i] = zigzag(src[8 * k + i]);
        uint64_t t = transpose8(read64(row));
        for (int b = 0; b < 8; b++) dst[(size_t)b * planes + k] = (uint8_t)(t >> (8 * b));
    }
}

void ck_bit_unshuffle(const uint8_t *src, uint8_t *dst, size_t n) {
    size_t planes = n / 8;
    for (size_t k = 0; k < planes; k++) {
        uint64_t t = 0;
        for (int b = 0; b < 8; b++) t |= (uint64_t)src[(size_t)b * planes + k] << (8 * b);
        t = transpose8(t);
        for (int i = 0; i < 8; i++) dst[8 * k + i] = unzigzag((uint8_t)(t >> (8 * i)));
    }
}
