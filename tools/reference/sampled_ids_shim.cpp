// LD_PRELOAD shim for llama.cpp's llama-completion: it wraps common_sampler_sample (libllama-common)
// and appends every sampled token id, one per line, to the file named by $SAMPLED_IDS_FILE (stderr if
// unset). It only observes: the call goes to the real function and its result is returned unchanged,
// so the generation is exactly that of the unmodified tool with the same flags.
// Build: g++ -shared -fPIC -O2 -o libsampled_ids.so sampled_ids_shim.cpp -ldl
#include <dlfcn.h>
#include <cstdio>
#include <cstdlib>

struct common_sampler;
struct llama_context;

// same signature (hence the same mangled name) as common/sampling.h:
// llama_token common_sampler_sample(common_sampler *, llama_context *, int idx, bool grammar_first)
int common_sampler_sample(common_sampler * smpl, llama_context * ctx, int idx, bool grammar_first) {
    using fn_t = int (*)(common_sampler *, llama_context *, int, bool);
    static fn_t real = (fn_t) dlsym(RTLD_NEXT, "_Z21common_sampler_sampleP14common_samplerP13llama_contextib");
    static FILE * out = [] {
        const char * p = std::getenv("SAMPLED_IDS_FILE");
        FILE * f = p ? std::fopen(p, "w") : nullptr;
        return f ? f : stderr;
    }();
    if (!real) { std::fprintf(stderr, "sampled_ids_shim: common_sampler_sample not found\n"); std::abort(); }
    const int id = real(smpl, ctx, idx, grammar_first);
    std::fprintf(out, "%d\n", id);
    std::fflush(out);
    return id;
}
