/* ubpf-driver.c: times uBPF's interpreter and x86-64 JIT on raw eBPF bytecode,
 * for bench/vs-ubpf.ts (which compiles this file against a uBPF checkout's
 * libubpf.a and feeds it the same bytecode and memory as our engines).
 *
 *   ubpf-driver run <interp|jit> <code.bin> <image.bin> <steps.bin> <runs> <rounds>
 *   ubpf-driver compile <programs.bin> <rounds>
 *
 * run: mem is a copy of image.bin; r1 = mem. The image's first 4096 bytes are the
 * XRP context page (struct bpf_xrp at 0), the next 4096 the scratch page; the
 * context's data/scratch fields hold offsets into the image and are relocated to
 * addresses. steps.bin is a list of u32 block offsets: one run is one query, the
 * scratch page and ctx.done reset from the image, then one program invocation
 * per step with ctx->data pointing at that step's block. A synthetic workload has
 * a single step and no context. Prints one line per round: "<ns> <r0>" for `runs`
 * runs (after one warm-up round that is not printed).
 *
 * compile: programs.bin is a list of (u32 instruction count, bytecode). Each
 * round loads and JIT-compiles every program in a fresh VM (ubpf_load validates
 * and copies, ubpf_compile emits x86-64); prints "<ns> <instructions>" per round.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ubpf.h>

#define PAGE 4096
#define CTX_DATA 264
#define CTX_SCRATCH 272

static uint8_t*
read_file(const char* path, size_t* len)
{
    FILE* f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "ubpf-driver: cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t* buf = malloc(n > 0 ? (size_t)n : 1);
    if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "ubpf-driver: short read on %s\n", path);
        exit(2);
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* CLOCK_PROCESS_CPUTIME_ID with UBPF_DRIVER_CLOCK=cpu (as the benchmark's --clock cpu), else wall time. */
static clockid_t clock_id = CLOCK_MONOTONIC;

static uint64_t
now_ns(void)
{
    struct timespec t;
    clock_gettime(clock_id, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static struct ubpf_vm*
load(const uint8_t* code, size_t code_len)
{
    struct ubpf_vm* vm = ubpf_create();
    char* err = NULL;
    if (!vm || ubpf_load(vm, code, (uint32_t)code_len, &err) != 0) {
        fprintf(stderr, "ubpf-driver: ubpf_load: %s\n", err ? err : "failed");
        exit(3);
    }
    return vm;
}

static int
run_mode(int argc, char** argv)
{
    if (argc != 8) return 1;
    int jit = strcmp(argv[2], "jit") == 0;
    size_t code_len, image_len, steps_len;
    uint8_t* code = read_file(argv[3], &code_len);
    uint8_t* image = read_file(argv[4], &image_len);
    uint8_t* steps_raw = read_file(argv[5], &steps_len);
    long runs = atol(argv[6]);
    int rounds = atoi(argv[7]);
    size_t step_count = steps_len / 4;
    uint32_t* steps = (uint32_t*)steps_raw;
    int xrp = image_len >= 2 * PAGE;

    uint8_t* mem = aligned_alloc(PAGE, image_len > 0 ? (image_len + PAGE - 1) / PAGE * PAGE : PAGE);
    memcpy(mem, image, image_len);
    if (xrp) {
        uint64_t scratch_off;
        memcpy(&scratch_off, mem + CTX_SCRATCH, 8);
        uint64_t scratch_addr = (uint64_t)(uintptr_t)(mem + scratch_off);
        memcpy(mem + CTX_SCRATCH, &scratch_addr, 8);
    }
    size_t mem_len = image_len > 0 ? image_len : PAGE;

    struct ubpf_vm* vm = load(code, code_len);
    ubpf_jit_fn fn = NULL;
    if (jit) {
        char* err = NULL;
        fn = ubpf_compile(vm, &err);
        if (!fn) {
            fprintf(stderr, "ubpf-driver: ubpf_compile: %s\n", err ? err : "failed");
            return 3;
        }
    }
    uint64_t r0 = 0;
    for (int round = -1; round < rounds; round++) {
        uint64_t start = now_ns();
        for (long i = 0; i < runs; i++) {
            if (xrp) {
                memcpy(mem + PAGE, image + PAGE, PAGE); /* the query's scratch page */
                memset(mem, 0, 4);                      /* ctx->done = 0 */
            }
            for (size_t s = 0; s < step_count; s++) {
                if (xrp) {
                    uint64_t data_addr = (uint64_t)(uintptr_t)(mem + steps[s]);
                    memcpy(mem + CTX_DATA, &data_addr, 8);
                }
                if (jit) {
                    r0 = fn(mem, mem_len);
                } else if (ubpf_exec(vm, mem, mem_len, &r0) != 0) {
                    fprintf(stderr, "ubpf-driver: ubpf_exec failed at step %zu\n", s);
                    return 4;
                }
            }
        }
        uint64_t ns = now_ns() - start;
        if (round >= 0) printf("%llu %llu\n", (unsigned long long)ns, (unsigned long long)r0);
    }
    ubpf_destroy(vm);
    return 0;
}

static int
compile_mode(int argc, char** argv)
{
    if (argc != 4) return 1;
    size_t len;
    uint8_t* all = read_file(argv[2], &len);
    int rounds = atoi(argv[3]);
    for (int round = 0; round < rounds; round++) {
        uint64_t ns = 0, insns = 0;
        for (size_t at = 0; at + 4 <= len;) {
            uint32_t count;
            memcpy(&count, all + at, 4);
            at += 4;
            uint64_t start = now_ns();
            struct ubpf_vm* vm = load(all + at, (size_t)count * 8);
            char* err = NULL;
            if (!ubpf_compile(vm, &err)) {
                fprintf(stderr, "ubpf-driver: ubpf_compile: %s\n", err ? err : "failed");
                return 3;
            }
            ns += now_ns() - start;
            ubpf_destroy(vm);
            insns += count;
            at += (size_t)count * 8;
        }
        printf("%llu %llu\n", (unsigned long long)ns, (unsigned long long)insns);
    }
    return 0;
}

int
main(int argc, char** argv)
{
    int rc = 1;
    const char* clock_name = getenv("UBPF_DRIVER_CLOCK");
    if (clock_name && strcmp(clock_name, "cpu") == 0) clock_id = CLOCK_PROCESS_CPUTIME_ID;
    if (argc >= 2 && strcmp(argv[1], "run") == 0) rc = run_mode(argc, argv);
    else if (argc >= 2 && strcmp(argv[1], "compile") == 0) rc = compile_mode(argc, argv);
    if (rc == 1) {
        fprintf(stderr,
                "usage: ubpf-driver run <interp|jit> <code.bin> <image.bin> <steps.bin> <runs> <rounds>\n"
                "       ubpf-driver compile <programs.bin> <rounds>\n");
    }
    return rc;
}
