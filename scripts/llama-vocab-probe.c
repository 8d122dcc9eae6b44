// Asks the peer's libllama what the tokenizer fixtures need beyond llama-tokenize's ids.
// Built and run by scripts/make-tokenizer-fixtures.py, never by the tests.
//
//   llama-vocab-probe MODEL eog      prints the ids llama_vocab_is_eog accepts, one line
//   llama-vocab-probe MODEL detok    reads lines of space-separated ids on stdin; for each prints
//                                    llama_detokenize(special rendered, remove_special = false)
//                                    TAB llama_detokenize(special hidden, remove_special = true),
//                                    both as hex bytes
//   llama-vocab-probe MODEL tokenize reads lines of hex-encoded text on stdin; for each prints the
//                                    ids of llama_tokenize(add_special = false, parse_special = true)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "llama.h"

static void quiet(enum ggml_log_level level, const char * text, void * data) { (void) level; (void) text; (void) data; }

static void print_hex(const struct llama_vocab * vocab, const llama_token * ids, int n, bool remove_special, bool unparse_special) {
    int cap = 64 + n * 64;
    char * buf = malloc(cap);
    int len = llama_detokenize(vocab, ids, n, buf, cap, remove_special, unparse_special);
    if (len < 0) {
        cap = -len;
        buf = realloc(buf, cap);
        len = llama_detokenize(vocab, ids, n, buf, cap, remove_special, unparse_special);
    }
    for (int i = 0; i < len; i++) printf("%02x", (unsigned char) buf[i]);
    free(buf);
}

int main(int argc, char ** argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s MODEL eog|detok\n", argv[0]); return 64; }
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params params = llama_model_default_params();
    params.vocab_only = true;
    struct llama_model * model = llama_model_load_from_file(argv[1], params);
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 66; }
    const struct llama_vocab * vocab = llama_model_get_vocab(model);
    if (strcmp(argv[2], "tokenize") == 0) {
        static char line[1 << 21], text[1 << 20];
        llama_token * ids = malloc(sizeof(llama_token) * (1 << 20));
        while (fgets(line, sizeof line, stdin)) {
            int len = 0;
            for (char * p = line; p[0] && p[0] != '\n' && p[1]; p += 2) {
                unsigned int byte;
                sscanf(p, "%2x", &byte);
                text[len++] = (char) byte;
            }
            const int n = llama_tokenize(vocab, text, len, ids, 1 << 20, false, true);
            for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
            printf("\n");
        }
        free(ids);
    } else if (strcmp(argv[2], "eog") == 0) {
        const int n = llama_vocab_n_tokens(vocab);
        for (int id = 0; id < n; id++) if (llama_vocab_is_eog(vocab, id)) printf("%d ", id);
        printf("\n");
    } else {
        static char line[1 << 20];
        llama_token * ids = malloc(sizeof(llama_token) * (1 << 18));
        while (fgets(line, sizeof line, stdin)) {
            int n = 0;
            for (char * p = strtok(line, " \n"); p; p = strtok(NULL, " \n")) ids[n++] = atoi(p);
            print_hex(vocab, ids, n, false, true);
            printf("\t");
            print_hex(vocab, ids, n, true, false);
            printf("\n");
        }
        free(ids);
    }
    llama_model_free(model);
    return 0;
}
