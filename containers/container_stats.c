/*
 * container_stats: what containers use, for ContainerStats,
 * ListContainerStats and the containers of PodSandboxStats.
 *
 * A running container's CPU and memory are read from its cgroup, found
 * through its init process (common/cgroup.h), which must still be the
 * process the record names: a reused pid would report a stranger's cgroup.
 * A created or exited container has no cgroup to read: its entry carries
 * its attributes, zero usage and the sampling time. The writable layer is
 * the overlay's upper dir, walked on each call.
 *
 * The kubelet wants usage_nano_cores, a rate, where the cgroup keeps only a
 * cumulative counter. As containerd does, the manager keeps each
 * container's previous sample in memory (cs->cpu_samples under cs->mu) and
 * answers the rate since it; the first call has none. Samples are not
 * persisted: after a restart the first call again has no rate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cgroup.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "containers/containers_internal.h"
#include "images/images.h"

enum {
    /* Callers asking within a second of the last sample (PodSandboxStats
     * then ListContainerStats, say) get that sample's rate rather than one
     * computed over a few milliseconds, which would be mostly noise. */
    CT_RATE_MIN_INTERVAL_MS = 1000,
    /* A sample nobody renewed for this long belongs to a container removed
     * or no longer watched: dropped, so the table does not grow forever. */
    CT_SAMPLE_TTL_MS = 10 * 60 * 1000,
};

static const int64_t ns_per_ms = 1000000;

/* ---- the CPU rate ------------------------------------------------------------ */

static void drop_stale_samples(ck_containers *cs, int64_t now_ns)
{
    size_t i = 0;
    while (i < cs->n_cpu_samples) {
        if (now_ns - cs->cpu_samples[i].at_ns > CT_SAMPLE_TTL_MS * ns_per_ms)
            cs->cpu_samples[i] = cs->cpu_samples[--cs->n_cpu_samples];
        else
            i++;
    }
}

static ct_cpu_sample *find_sample(ck_containers *cs, const char *id)
{
    for (size_t i = 0; i < cs->n_cpu_samples; i++)
        if (strcmp(cs->cpu_samples[i].id, id) == 0)
            return &cs->cpu_samples[i];
    return NULL;
}

/* A new, empty sample for id; NULL when out of memory. */
static ct_cpu_sample *add_sample(ck_containers *cs, const char *id)
{
    if (cs->n_cpu_samples == cs->cap_cpu_samples) {
        size_t cap = cs->cap_cpu_samples > 0 ? cs->cap_cpu_samples * 2 : 16;
        ct_cpu_sample *grown = realloc(cs->cpu_samples, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        cs->cpu_samples = grown;
        cs->cap_cpu_samples = cap;
    }
    ct_cpu_sample *s = &cs->cpu_samples[cs->n_cpu_samples++];
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", id);
    return s;
}

static void renew(ct_cpu_sample *s, uint64_t usage_ns, int64_t at_ns, bool has_rate, uint64_t nano_cores)
{
    s->usage_ns = usage_ns;
    s->at_ns = at_ns;
    s->has_rate = has_rate;
    s->nano_cores = nano_cores;
}

/* Records the sample (usage_ns at at_ns) and says whether a rate is known,
 * putting it in *rate. */
static bool cpu_rate(ck_containers *cs, const char *id, uint64_t usage_ns, int64_t at_ns, uint64_t *rate)
{
    pthread_mutex_lock(&cs->mu);
    drop_stale_samples(cs, at_ns);
    ct_cpu_sample *s = find_sample(cs, id);
    bool known = false;
    if (s == NULL) {
        s = add_sample(cs, id);
        if (s != NULL)
            renew(s, usage_ns, at_ns, false, 0);
        else
            ck_warn("containers", "container %s: no memory for its CPU sample: no usage_nano_cores", id);
    } else if (at_ns - s->at_ns < CT_RATE_MIN_INTERVAL_MS * ns_per_ms) {
        known = s->has_rate;
        *rate = s->nano_cores;
    } else if (usage_ns >= s->usage_ns) {
        double per_s = (double)(usage_ns - s->usage_ns) / (double)(at_ns - s->at_ns) * 1e9;
        renew(s, usage_ns, at_ns, true, (uint64_t)per_s);
        known = true;
        *rate = s->nano_cores;
    } else {
        /* The counter went back (the cgroup was read as the init exited):
         * start again from here. */
        renew(s, usage_ns, at_ns, false, 0);
    }
    pthread_mutex_unlock(&cs->mu);
    return known;
}

/* ---- one entry --------------------------------------------------------------- */

/* The init's pid while it is still the process the record names, else 0. */
static pid_t live_init_pid(const ck_container_view *v)
{
    ck_proc_id who;
    if (v->state != CK_CONTAINER_RUNNING || !ct_record_init(ct_record_of_view(v), &who))
        return 0;
    return ck_proc_id_alive(&who, NULL, 0) ? who.pid : 0;
}

static void fill_usage(ck_containers *cs, ck_container_stats *s)
{
    pid_t pid = live_init_pid(&s->view);
    if (pid <= 0)
        return;
    ck_cgroup_usage u;
    ck_cgroup_usage_of(pid, false, &u);
    s->running = true;
    s->cpu_usage_ns = u.cpu_usage_ns;
    s->memory_working_set = u.memory_working_set;
    s->memory_usage = u.memory_usage;
    s->memory_rss = u.memory_rss;
    s->page_faults = u.page_faults;
    s->major_page_faults = u.major_page_faults;
    if (u.memory_limit > u.memory_working_set)
        s->memory_available = u.memory_limit - u.memory_working_set;
    s->has_swap = u.has_swap;
    s->swap_usage = u.swap_usage;
    if (u.swap_limit > u.swap_usage)
        s->swap_available = u.swap_limit - u.swap_usage;
    s->has_cpu_rate = cpu_rate(cs, s->view.id, u.cpu_usage_ns, s->timestamp_ns, &s->cpu_nano_cores);
}

/* Bytes and inodes of the upper dir. A walk that fails (the container
 * removed meanwhile) reports 0 rather than failing the whole answer. */
static int fill_writable_layer(ck_containers *cs, ck_container_stats *s, ck_err *err)
{
    char mountpoint[PATH_MAX];
    snprintf(mountpoint, sizeof(mountpoint), "%s/containers", cs->cfg->root_dir);
    s->writable_mountpoint = strdup(mountpoint);
    if (s->writable_mountpoint == NULL)
        return ck_err_oom(err, "container stats");
    ct_paths p;
    ct_paths_init(cs, s->view.id, &p);
    ck_err e;
    ck_err_clear(&e);
    if (ck_dir_usage(p.upper, &s->writable_bytes, &s->writable_inodes, &e) < 0)
        ck_warn("containers", "container %s: writable layer usage: %s", s->view.id, e.msg);
    s->writable_timestamp_ns = ck_now_ns();
    return 0;
}

/* Fills the usage of s, whose view is already there. */
static int sample(ck_containers *cs, ck_container_stats *s, ck_err *err)
{
    s->timestamp_ns = ck_now_ns();
    fill_usage(cs, s);
    return fill_writable_layer(cs, s, err);
}

int ck_container_stats_get(ck_containers *cs, const char *id, ck_container_stats *out, ck_err *err)
{
    memset(out, 0, sizeof(*out));
    if (id == NULL || id[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "container stats: no container id given");
    if (ck_container_status(cs, id, &out->view, err) < 0)
        return ck_err_wrap(err, "stats of container %s", id);
    if (sample(cs, out, err) < 0) {
        ck_container_stats_clear(out);
        return -1;
    }
    return 0;
}

int ck_container_stats_list(ck_containers *cs, const ck_container_filter *f, ck_container_stats **out, size_t *n,
                            ck_err *err)
{
    *out = NULL;
    *n = 0;
    ck_container_filter any_state;
    if (f != NULL) {
        any_state = *f;
        any_state.has_state = false;
    }
    ck_container_view *views = NULL;
    size_t nviews = 0;
    if (ck_container_list(cs, f != NULL ? &any_state : NULL, &views, &nviews, err) < 0)
        return ck_err_wrap(err, "container stats");
    ck_container_stats *stats = calloc(nviews + 1, sizeof(*stats));
    if (stats == NULL) {
        ck_container_views_free(views, nviews);
        return ck_err_oom(err, "container stats");
    }
    /* The entries take the views over; only the array is freed. */
    for (size_t i = 0; i < nviews; i++)
        stats[i].view = views[i];
    free(views);
    for (size_t i = 0; i < nviews; i++)
        if (sample(cs, &stats[i], err) < 0) {
            ck_container_stats_free(stats, nviews);
            return -1;
        }
    *out = stats;
    *n = nviews;
    return 0;
}

void ck_container_stats_clear(ck_container_stats *s)
{
    ck_container_view_clear(&s->view);
    free(s->writable_mountpoint);
    memset(s, 0, sizeof(*s));
}

void ck_container_stats_free(ck_container_stats *s, size_t n)
{
    for (size_t i = 0; s != NULL && i < n; i++)
        ck_container_stats_clear(&s[i]);
    free(s);
}
