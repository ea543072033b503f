/*
 * pod_metrics: the metric descriptors and the samples of every ready pod,
 * shared by ListMetricDescriptors, ListPodSandboxMetrics and
 * StreamPodSandboxMetrics. Everything is allocated on the call.
 */
#ifndef CK_CRI_POD_METRICS_H
#define CK_CRI_POD_METRICS_H

#include "cri/handlers.h"

/* One descriptor per metric cricket measures. */
int ck_pod_metric_descriptors(ck_call *call, Runtime__V1__MetricDescriptor ***out, size_t *n_out, ck_err *err);

/* The metrics of every READY pod; a pod removed meanwhile is left out. */
int ck_pod_metrics_collect(ck_call *call, Runtime__V1__PodSandboxMetrics ***out, size_t *n_out, ck_err *err);

#endif
