/*
 * metrics: one mutex guards the registry; families keep their children in a
 * small array searched linearly (a family has tens of children: methods by
 * status code, states). Rates here are those of the kubelet's calls, tens a
 * second, so simplicity wins over lock-free tricks.
 */
#include "common/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_LABELS = 4 };

typedef enum family_type { T_COUNTER, T_GAUGE, T_HISTOGRAM } family_type;

typedef struct child {
    char *values[MAX_LABELS];
    double value;   /* counter, gauge; histogram: sum */
    uint64_t count; /* histogram */
    uint64_t *bucket_counts;
} child;

struct ck_metric {
    ck_metric *next;
    char *name, *help;
    family_type type;
    char *labels[MAX_LABELS];
    size_t n_labels;
    double *buckets;
    size_t n_buckets;
    child *children;
    size_t n_children, cap_children;
};

typedef struct collector {
    ck_metric_collector fn;
    void *ctx;
} collector;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static ck_metric *families, *families_tail;
static collector collectors[32];
static size_t n_collectors;
static _Atomic bool enabled;

const double ck_metrics_latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
const size_t ck_metrics_latency_buckets_len = sizeof(ck_metrics_latency_buckets) / sizeof(double);

void ck_metrics_enable(bool on)
{
    atomic_store(&enabled, on);
}

bool ck_metrics_enabled(void)
{
    return atomic_load(&enabled);
}

static void family_free(ck_metric *m)
{
    for (size_t c = 0; c < m->n_children; c++) {
        for (size_t l = 0; l < m->n_labels; l++)
            free(m->children[c].values[l]);
        free(m->children[c].bucket_counts);
    }
    for (size_t l = 0; l < m->n_labels; l++)
        free(m->labels[l]);
    free(m->children);
    free(m->buckets);
    free(m->name);
    free(m->help);
    free(m);
}

static int split_labels(ck_metric *m, const char *label_names)
{
    if (label_names == NULL || label_names[0] == '\0')
        return 0;
    const char *p = label_names;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        if (m->n_labels == MAX_LABELS || n == 0)
            return -1;
        m->labels[m->n_labels] = strndup(p, n);
        if (m->labels[m->n_labels] == NULL)
            return -1;
        m->n_labels++;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static ck_metric *define(const char *name, const char *help, family_type type, const char *label_names,
                         const double *buckets, size_t n_buckets)
{
    pthread_mutex_lock(&mu);
    for (ck_metric *m = families; m != NULL; m = m->next) {
        if (strcmp(m->name, name) == 0) {
            pthread_mutex_unlock(&mu);
            return m;
        }
    }
    ck_metric *m = calloc(1, sizeof(*m));
    bool ok = m != NULL && (m->name = strdup(name)) != NULL && (m->help = strdup(help)) != NULL &&
              split_labels(m, label_names) == 0;
    if (ok && n_buckets > 0) {
        m->buckets = malloc(n_buckets * sizeof(double));
        ok = m->buckets != NULL;
        if (ok) {
            memcpy(m->buckets, buckets, n_buckets * sizeof(double));
            m->n_buckets = n_buckets;
        }
    }
    if (!ok) {
        if (m != NULL)
            family_free(m);
        pthread_mutex_unlock(&mu);
        return NULL;
    }
    m->type = type;
    if (families_tail != NULL)
        families_tail->next = m;
    else
        families = m;
    families_tail = m;
    pthread_mutex_unlock(&mu);
    return m;
}

ck_metric *ck_metric_counter(const char *name, const char *help, const char *label_names)
{
    return define(name, help, T_COUNTER, label_names, NULL, 0);
}

ck_metric *ck_metric_gauge(const char *name, const char *help, const char *label_names)
{
    return define(name, help, T_GAUGE, label_names, NULL, 0);
}

ck_metric *ck_metric_histogram(const char *name, const char *help, const char *label_names, const double *buckets,
                               size_t n_buckets)
{
    return define(name, help, T_HISTOGRAM, label_names, buckets, n_buckets);
}

/* Finds or creates the child for these label values; mu held. */
static child *child_for(ck_metric *m, const char *const *values)
{
    for (size_t c = 0; c < m->n_children; c++) {
        size_t l = 0;
        while (l < m->n_labels && strcmp(m->children[c].values[l], values[l]) == 0)
            l++;
        if (l == m->n_labels)
            return &m->children[c];
    }
    if (m->n_children == m->cap_children) {
        size_t cap = m->cap_children ? m->cap_children * 2 : 8;
        child *grown = realloc(m->children, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        m->children = grown;
        m->cap_children = cap;
    }
    child *ch = &m->children[m->n_children];
    memset(ch, 0, sizeof(*ch));
    if (m->n_buckets > 0 && (ch->bucket_counts = calloc(m->n_buckets, sizeof(uint64_t))) == NULL)
        return NULL;
    for (size_t l = 0; l < m->n_labels; l++) {
        if ((ch->values[l] = strdup(values[l] != NULL ? values[l] : "")) == NULL) {
            for (size_t k = 0; k < l; k++)
                free(ch->values[k]);
            free(ch->bucket_counts);
            return NULL;
        }
    }
    m->n_children++;
    return ch;
}

typedef enum op { OP_ADD, OP_SET, OP_OBSERVE } op;

static void record(ck_metric *m, op what, double v, const char *const *values)
{
    static const char *const none[MAX_LABELS] = {"", "", "", ""};
    if (m == NULL || !atomic_load(&enabled))
        return;
    pthread_mutex_lock(&mu);
    child *ch = child_for(m, values != NULL ? values : none);
    if (ch != NULL) {
        if (what == OP_ADD)
            ch->value += v;
        else if (what == OP_SET)
            ch->value = v;
        else {
            ch->value += v;
            ch->count++;
            for (size_t b = 0; b < m->n_buckets; b++)
                if (v <= m->buckets[b])
                    ch->bucket_counts[b]++;
        }
    }
    pthread_mutex_unlock(&mu);
}

void ck_metric_add(ck_metric *m, double delta, const char *const *label_values)
{
    record(m, OP_ADD, delta, label_values);
}

void ck_metric_set(ck_metric *m, double value, const char *const *label_values)
{
    record(m, OP_SET, value, label_values);
}

void ck_metric_observe(ck_metric *m, double value, const char *const *label_values)
{
    record(m, OP_OBSERVE, value, label_values);
}

void ck_metrics_add_collector(ck_metric_collector fn, void *ctx)
{
    pthread_mutex_lock(&mu);
    if (n_collectors < sizeof(collectors) / sizeof(collectors[0]))
        collectors[n_collectors++] = (collector){fn, ctx};
    pthread_mutex_unlock(&mu);
}

/* ---- exposition ---------------------------------------------------------- */

typedef struct out_buf {
    char *data;
    size_t len, cap;
    bool failed;
} out_buf;

static void put(out_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(out_buf *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->data + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = true;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = (o->cap + (size_t)n) * 2;
        char *grown = realloc(o->data, cap);
        if (grown == NULL) {
            o->failed = true;
            return;
        }
        o->data = grown;
        o->cap = cap;
    }
}

/* Label values escaped as the format asks: backslash, quote, newline. */
static void put_escaped(out_buf *o, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\')
            put(o, "\\\\");
        else if (*s == '"')
            put(o, "\\\"");
        else if (*s == '\n')
            put(o, "\\n");
        else
            put(o, "%c", *s);
    }
}

/* {a="x",b="y"} plus an extra label (le) when given. */
static void put_labels(out_buf *o, const ck_metric *m, const child *ch, const char *extra_name, const char *extra_value)
{
    if (m->n_labels == 0 && extra_name == NULL)
        return;
    put(o, "{");
    for (size_t l = 0; l < m->n_labels; l++) {
        put(o, "%s%s=\"", l > 0 ? "," : "", m->labels[l]);
        put_escaped(o, ch->values[l]);
        put(o, "\"");
    }
    if (extra_name != NULL)
        put(o, "%s%s=\"%s\"", m->n_labels > 0 ? "," : "", extra_name, extra_value);
    put(o, "}");
}

static void put_number(out_buf *o, double v)
{
    if (isinf(v))
        put(o, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        put(o, "%.0f", v);
    else
        put(o, "%.9g", v);
}

static void put_histogram(out_buf *o, const ck_metric *m, const child *ch)
{
    for (size_t b = 0; b < m->n_buckets; b++) {
        char le[32];
        snprintf(le, sizeof(le), "%g", m->buckets[b]);
        put(o, "%s_bucket", m->name);
        put_labels(o, m, ch, "le", le);
        put(o, " %llu\n", (unsigned long long)ch->bucket_counts[b]);
    }
    put(o, "%s_bucket", m->name);
    put_labels(o, m, ch, "le", "+Inf");
    put(o, " %llu\n%s_sum", (unsigned long long)ch->count, m->name);
    put_labels(o, m, ch, NULL, NULL);
    put(o, " ");
    put_number(o, ch->value);
    put(o, "\n%s_count", m->name);
    put_labels(o, m, ch, NULL, NULL);
    put(o, " %llu\n", (unsigned long long)ch->count);
}

static void put_family(out_buf *o, const ck_metric *m)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    put(o, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, types[m->type]);
    for (size_t c = 0; c < m->n_children; c++) {
        if (m->type == T_HISTOGRAM) {
            put_histogram(o, m, &m->children[c]);
            continue;
        }
        put(o, "%s", m->name);
        put_labels(o, m, &m->children[c], NULL, NULL);
        put(o, " ");
        put_number(o, m->children[c].value);
        put(o, "\n");
    }
}

char *ck_metrics_render(size_t *len)
{
    pthread_mutex_lock(&mu);
    size_t n = n_collectors;
    collector copy[sizeof(collectors) / sizeof(collectors[0])];
    memcpy(copy, collectors, n * sizeof(collector));
    pthread_mutex_unlock(&mu);
    for (size_t i = 0; i < n; i++)
        copy[i].fn(copy[i].ctx);

    out_buf o = {0};
    pthread_mutex_lock(&mu);
    for (const ck_metric *m = families; m != NULL; m = m->next)
        put_family(&o, m);
    pthread_mutex_unlock(&mu);
    if (o.failed || o.data == NULL) {
        free(o.data);
        return NULL;
    }
    *len = o.len;
    return o.data;
}

void ck_metrics_reset(void)
{
    pthread_mutex_lock(&mu);
    ck_metric *m = families;
    while (m != NULL) {
        ck_metric *next = m->next;
        family_free(m);
        m = next;
    }
    families = families_tail = NULL;
    n_collectors = 0;
    pthread_mutex_unlock(&mu);
}
