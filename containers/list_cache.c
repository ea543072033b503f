/*
 * list_cache: ListContainers at a thousand containers without parsing a
 * thousand records on every call. The views of the last list are kept with
 * the rows they were built from. The store's container generation moves
 * with every write of a container row, so while it stands still the kept
 * views are the rows; once it moved, the rows are read again and only a
 * row that differs from the kept one (any column) gets its view built
 * again. No writer has to remember anything: the store counts its writes
 * and the rows say which changed.
 *
 * What no row says yet is an exit not recorded. An exit file the monitor
 * renamed before the list began is recorded once the exit watch has
 * handled its queue (ct_watch_settled), which the list waits for. An end
 * without an exit file (the monitor killed, then its init) is found by the
 * watch thread's sweep each CT_SWEEP_MS: kill(pid, 0) of each live init
 * (the monitor, its subreaper, writes the exit file only after reaping it,
 * so while the pid answers no exit file can exist), and the full refresh
 * when it does not; a few entries per sweep get the full refresh anyway (a
 * pid answering may be a reused one: pid_max may be 32768). When the watch
 * cannot be trusted (a watch missing, events lost), each list does those
 * checks itself, as it did before this cache.
 *
 * Every change of the entries moves the cache's version, after all those
 * checks: a caller that kept something made from the views of one version
 * (the CRI keeps the packed answer) asks with it and gets nothing back while
 * it still holds.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "containers/containers_internal.h"

/* Full refreshes per sweep (or per call, unwatched) beyond the suspects,
 * and how old a check must be to be done again. */
enum { AUDITS_PER_CALL = 16, AUDIT_AFTER_MS = 1000 };

struct ct_list_entry {
    ck_container_record row; /* what view was built from */
    ck_container_view view;  /* the cache's reference */
    ck_proc_id init;         /* valid when has_init */
    bool has_init;
    long long checked_ms; /* the last full refresh (monotonic ms) */
    bool moved;           /* taken over by the next entries: owns nothing */
};

void ct_list_cache_init(ct_list_cache *c)
{
    memset(c, 0, sizeof(*c));
    c->version = 1;
    pthread_mutex_init(&c->mu, NULL);
}

static void entry_clear(struct ct_list_entry *e)
{
    ck_container_view_clear(&e->view);
    ck_container_record_clear(&e->row);
}

static void entries_free(struct ct_list_entry *e, size_t n)
{
    for (size_t i = 0; e != NULL && i < n; i++)
        if (!e[i].moved)
            entry_clear(&e[i]);
    free(e);
}

void ct_list_cache_free(ct_list_cache *c)
{
    entries_free(c->entries, c->n);
    c->entries = NULL;
    c->n = 0;
    pthread_mutex_destroy(&c->mu);
}

static bool same_text(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_row(const ck_container_record *a, const ck_container_record *b)
{
    return a->state == b->state && a->attempt == b->attempt && a->created_at_ns == b->created_at_ns &&
           a->started_at_ns == b->started_at_ns && a->finished_at_ns == b->finished_at_ns &&
           a->exit_code == b->exit_code && same_text(a->pod_id, b->pod_id) && same_text(a->name, b->name) &&
           same_text(a->image_ref, b->image_ref) && same_text(a->data, b->data);
}

/* e's view from its row (which it takes over). */
static int entry_build(struct ct_list_entry *e, ck_container_record *row, ck_err *err)
{
    memset(e, 0, sizeof(*e));
    e->row = *row;
    memset(row, 0, sizeof(*row));
    if (ct_record_view(&e->row, &e->view, err) < 0)
        return -1;
    e->has_init = ct_record_init(ct_record_of_view(&e->view), &e->init);
    return 0;
}

static int by_id(const void *a, const void *b)
{
    const struct ct_list_entry *const *x = a, *const *y = b;
    return strcmp((*x)->row.id, (*y)->row.id);
}

/* The kept entry of id, or NULL; sorted: by_id order. */
static struct ct_list_entry *kept(struct ct_list_entry **sorted, size_t n, const char *id)
{
    struct ct_list_entry key = {.row = {.id = (char *)id}};
    struct ct_list_entry *k = &key;
    struct ct_list_entry **found = n > 0 ? bsearch(&k, sorted, n, sizeof(*sorted), by_id) : NULL;
    return found != NULL ? *found : NULL;
}

/* fresh[] from rows: a kept entry whose row is the same moves over (its
 * slot in old is emptied), any other is built. */
static int rebuild_entries(ct_list_cache *c, ck_container_record *rows, size_t nrows, struct ct_list_entry *fresh,
                           size_t *k, ck_err *err)
{
    struct ct_list_entry **sorted = calloc(c->n + 1, sizeof(*sorted));
    if (sorted == NULL)
        return ck_err_oom(err, "container list cache");
    for (size_t i = 0; i < c->n; i++)
        sorted[i] = &c->entries[i];
    qsort(sorted, c->n, sizeof(*sorted), by_id);
    int rc = 0;
    for (size_t i = 0; i < nrows && rc == 0; i++) {
        if (rows[i].state == CK_CONTAINER_CREATING)
            continue; /* not listed until its creation ends */
        struct ct_list_entry *old = kept(sorted, c->n, rows[i].id);
        if (old != NULL && !old->moved && same_row(&old->row, &rows[i])) {
            fresh[(*k)++] = *old;
            old->moved = true;
        } else {
            rc = entry_build(&fresh[*k], &rows[i], err);
            (*k)++;
        }
    }
    free(sorted);
    return rc;
}

/* The entries again from the rows: called when the generation moved. */
static int rebuild(ck_containers *cs, ct_list_cache *c, ck_err *err)
{
    ck_container_record *rows = NULL;
    size_t nrows = 0;
    uint64_t generation = 0;
    if (ck_store_container_list_at(cs->store, &rows, &nrows, &generation, err) < 0)
        return -1;
    struct ct_list_entry *fresh = calloc(nrows + 1, sizeof(*fresh));
    if (fresh == NULL) {
        ck_container_records_free(rows, nrows);
        return ck_err_oom(err, "container list cache");
    }
    size_t k = 0;
    int rc = rebuild_entries(c, rows, nrows, fresh, &k, err);
    ck_container_records_free(rows, nrows);
    /* Whatever happened, the old entries not moved over go: on failure the
     * cache starts empty again. */
    entries_free(c->entries, c->n);
    c->version++;
    if (rc < 0) {
        entries_free(fresh, k);
        c->entries = NULL;
        c->n = 0;
        c->valid = false;
        return -1;
    }
    c->entries = fresh;
    c->n = k;
    c->generation = generation;
    c->valid = true;
    return 0;
}

/* Whether e may have a process to look after: RUNNING, or CREATED with its
 * start begun (a created container has none: it costs no look). */
static bool live(const struct ct_list_entry *e)
{
    return e->row.state == CK_CONTAINER_RUNNING || (e->row.state == CK_CONTAINER_CREATED && e->row.started_at_ns != 0);
}

/* Whether e's init may have ended: no init recorded, or its pid gone. */
static bool suspect(const struct ct_list_entry *e)
{
    return !e->has_init || (kill(e->init.pid, 0) < 0 && errno == ESRCH);
}

/* The full refresh of e (container_stop.c); a recorded exit rebuilds its
 * view. The row's record is parsed afresh (data NULL): the view's is
 * shared with callers and must not change under them. */
static int refresh_entry(ck_containers *cs, ct_list_cache *c, struct ct_list_entry *e, long long now_ms, ck_err *err)
{
    e->checked_ms = now_ms;
    ck_err re;
    ck_err_clear(&re);
    int changed = ct_refresh(cs, &e->row, NULL, &re);
    if (changed < 0)
        ck_warn("containers", "container %s: %s", e->row.id, re.msg);
    if (changed <= 0)
        return 0;
    c->version++;
    ck_container_view_clear(&e->view);
    if (ct_record_view(&e->row, &e->view, err) < 0)
        return -1;
    e->has_init = ct_record_init(ct_record_of_view(&e->view), &e->init);
    return 0;
}

/* Brings the live entries up to date with their processes, when the exit
 * watch cannot be trusted to have (see the top). */
static int check_live(ck_containers *cs, ct_list_cache *c, ck_err *err)
{
    long long now = ck_mono_ms();
    size_t audits = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct ct_list_entry *e = &c->entries[(c->audit_next + i) % c->n];
        if (!live(e))
            continue;
        bool audit = audits < AUDITS_PER_CALL && now - e->checked_ms >= AUDIT_AFTER_MS;
        audits += audit;
        if ((audit || suspect(e)) && refresh_entry(cs, c, e, now, err) < 0)
            return -1;
    }
    if (c->n > 0)
        c->audit_next = (c->audit_next + 1) % c->n;
    return 0;
}

static int share_kept(ct_list_cache *c, ct_list_keep keep, const void *arg, ck_container_view **out, size_t *n,
                      ck_err *err)
{
    ck_container_view *views = calloc(c->n + 1, sizeof(*views));
    if (views == NULL)
        return ck_err_oom(err, "container list");
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++)
        if (keep == NULL || keep(&c->entries[i].view, arg))
            ct_view_share(&c->entries[i].view, &views[k++]);
    *out = views;
    *n = k;
    return 0;
}

/* A live entry the sweep looks at. */
typedef struct sweep_item {
    char id[65];
    pid_t pid; /* 0: no init recorded */
    bool audit;
} sweep_item;

/* What the sweep checks, copied under the lock (it checks without). */
static sweep_item *sweep_items(ct_list_cache *c, long long now, size_t *n)
{
    *n = 0;
    sweep_item *items = calloc(c->n + 1, sizeof(*items));
    size_t audits = 0;
    for (size_t i = 0; items != NULL && i < c->n; i++) {
        struct ct_list_entry *e = &c->entries[(c->audit_next + i) % c->n];
        if (!live(e))
            continue;
        sweep_item *it = &items[(*n)++];
        memcpy(it->id, e->row.id, strnlen(e->row.id, sizeof(it->id) - 1));
        it->pid = e->has_init ? e->init.pid : 0;
        it->audit = audits < AUDITS_PER_CALL && now - e->checked_ms >= AUDIT_AFTER_MS;
        if (it->audit) {
            e->checked_ms = now;
            audits++;
        }
    }
    if (c->n > 0)
        c->audit_next = (c->audit_next + AUDITS_PER_CALL) % c->n;
    return items;
}

void ct_list_cache_sweep(ck_containers *cs)
{
    ct_list_cache *c = &cs->list_cache;
    pthread_mutex_lock(&c->mu);
    size_t n = 0;
    /* Without entries nobody lists: a status refreshes by itself, and the
     * next list's rows are swept a moment later. */
    sweep_item *items = c->valid ? sweep_items(c, ck_mono_ms(), &n) : NULL;
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < n; i++)
        if (items[i].audit || items[i].pid <= 0 || (kill(items[i].pid, 0) < 0 && errno == ESRCH))
            ct_look_at(cs, items[i].id);
    free(items);
}

int ct_list_views(ck_containers *cs, ct_list_keep keep, const void *arg, uint64_t known, ck_container_view **out,
                  size_t *n, uint64_t *version, ck_err *err)
{
    *out = NULL;
    *n = 0;
    /* First: the exits the watch has been told of are in the rows then. */
    bool settled = ct_watch_settled(cs);
    ct_list_cache *c = &cs->list_cache;
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    if (!c->valid || ck_store_container_generation(cs->store) != c->generation)
        rc = rebuild(cs, c, err);
    if (rc == 0 && !settled)
        rc = check_live(cs, c, err);
    if (rc < 0) {
        /* An entry may be half rebuilt: start again from the rows. */
        entries_free(c->entries, c->n);
        c->entries = NULL;
        c->n = 0;
        c->valid = false;
        c->version++;
    }
    *version = c->version;
    if (rc == 0 && c->version != known)
        rc = share_kept(c, keep, arg, out, n, err);
    pthread_mutex_unlock(&c->mu);
    return rc;
}
