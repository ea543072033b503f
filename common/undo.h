/*
 * undo: a cleanup stack for multi-step operations (RunPodSandbox creates a
 * directory, a netns, a CNI attachment, a mount, a process...). Each step
 * that succeeds pushes the function that undoes it; when a later step fails,
 * ck_undo_run calls them newest first, so the operation leaves nothing
 * behind. When every step succeeded, ck_undo_dismiss forgets them.
 *
 * An undo function cannot fail the operation: it logs what it could not
 * undo. Its argument is owned by the stack when `owned` is set (freed after
 * the call or on dismiss).
 */
#ifndef CK_COMMON_UNDO_H
#define CK_COMMON_UNDO_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

typedef void (*ck_undo_fn)(void *ctx, void *arg);

typedef struct ck_undo_step {
    ck_undo_fn fn;
    void *arg;
    bool owned;
    const char *what; /* for the debug log: "remove netns" */
} ck_undo_step;

enum { CK_UNDO_MAX = 32 };

typedef struct ck_undo {
    void *ctx;
    ck_undo_step steps[CK_UNDO_MAX];
    size_t len;
} ck_undo;

void ck_undo_init(ck_undo *u, void *ctx);
/* Pushes a step; arg is freed later when owned. Fails only when the stack
 * is full (a programming error), and then runs fn at once. */
int ck_undo_push(ck_undo *u, const char *what, ck_undo_fn fn, void *arg, bool owned, ck_err *err);
/* Runs every step, newest first, and empties the stack. */
void ck_undo_run(ck_undo *u);
/* Forgets every step (frees owned arguments) without running them. */
void ck_undo_dismiss(ck_undo *u);

#endif
