/*
 * metrics: the process's Prometheus metrics, in one registry that any module
 * records into and the metrics endpoint renders in the text exposition format
 * (version 0.0.4).
 *
 * A family (counter, gauge or histogram) is defined once with its label
 * names; each distinct set of label values is a child created on first use.
 * Recording does nothing until metrics are enabled (metrics.address set), so
 * a node without a scraper pays one atomic load per call site.
 */
#ifndef CK_COMMON_METRICS_H
#define CK_COMMON_METRICS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ck_metric ck_metric;

/* label_names: comma-separated ("method,code"), or NULL for none. The name
 * follows Prometheus conventions (cricket_ prefix, unit suffix). Defining
 * the same name twice returns the first family. NULL on out of memory. */
ck_metric *ck_metric_counter(const char *name, const char *help, const char *label_names);
ck_metric *ck_metric_gauge(const char *name, const char *help, const char *label_names);
ck_metric *ck_metric_histogram(const char *name, const char *help, const char *label_names, const double *buckets,
                               size_t n_buckets);

/* label_values: one per label name, in order; NULL when the family has none. */
void ck_metric_add(ck_metric *m, double delta, const char *const *label_values);
void ck_metric_set(ck_metric *m, double value, const char *const *label_values);
void ck_metric_observe(ck_metric *m, double value, const char *const *label_values);

/* Called at each scrape, before rendering, to set gauges that are read
 * rather than recorded (memory, fds, objects by state). */
typedef void (*ck_metric_collector)(void *ctx);
void ck_metrics_add_collector(ck_metric_collector fn, void *ctx);

void ck_metrics_enable(bool on);
bool ck_metrics_enabled(void);

/* The whole exposition, malloc'd (caller frees), or NULL on out of memory. */
char *ck_metrics_render(size_t *len);

/* Forgets every family and collector (daemon shutdown, tests). */
void ck_metrics_reset(void);

/* Latency buckets in seconds, 0.5 ms to 60 s, for RPCs and plugin calls. */
extern const double ck_metrics_latency_buckets[];
extern const size_t ck_metrics_latency_buckets_len;

#endif
