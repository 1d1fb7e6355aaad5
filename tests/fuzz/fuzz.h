/* fuzz.h - what every libFuzzer harness here shares.
 *
 * CHECK names a broken invariant on stderr, then traps, so libFuzzer saves
 * the input that broke it. The prototypes satisfy -Wmissing-prototypes.
 */
#ifndef RB_FUZZ_H
#define RB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            __builtin_trap();                                                           \
        }                                                                               \
    } while (0)

#endif
