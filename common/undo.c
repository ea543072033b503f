/*
 * undo: the cleanup stack. See undo.h.
 */
#include "common/undo.h"

#include <stdlib.h>

#include "common/log.h"

void ck_undo_init(ck_undo *u, void *ctx)
{
    u->ctx = ctx;
    u->len = 0;
}

int ck_undo_push(ck_undo *u, const char *what, ck_undo_fn fn, void *arg, bool owned, ck_err *err)
{
    if (u->len >= CK_UNDO_MAX) {
        fn(u->ctx, arg);
        if (owned)
            free(arg);
        return ck_err_set(err, CK_E_INTERNAL, 0, "cleanup stack full at \"%s\"", what);
    }
    u->steps[u->len++] = (ck_undo_step){.fn = fn, .arg = arg, .owned = owned, .what = what};
    return 0;
}

void ck_undo_run(ck_undo *u)
{
    while (u->len > 0) {
        ck_undo_step *s = &u->steps[--u->len];
        ck_debug("undo", "undo: %s", s->what);
        s->fn(u->ctx, s->arg);
        if (s->owned)
            free(s->arg);
    }
}

void ck_undo_dismiss(ck_undo *u)
{
    while (u->len > 0) {
        ck_undo_step *s = &u->steps[--u->len];
        if (s->owned)
            free(s->arg);
    }
}
