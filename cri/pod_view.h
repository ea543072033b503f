/*
 * pod_view: pieces shared by the pod sandbox handlers: metadata and the
 * string maps (labels, annotations) of a typed ck_sandbox_view in the
 * call's arena. The pod's stored record is never read here.
 */
#ifndef CK_CRI_POD_VIEW_H
#define CK_CRI_POD_VIEW_H

#include "cri/handlers.h"
#include "sandbox/sandbox.h"

Runtime__V1__PodSandboxMetadata *ck_pod_metadata(ck_call *call, const ck_sandbox_view *v);

/* A pod's PodSandboxStatus message (PodSandboxStatus, container events);
 * NULL when out of memory. */
Runtime__V1__PodSandboxStatus *ck_pod_status_message(ck_call *call, const ck_sandbox_view *v);

/* The ListPodSandbox entries for a filter (may be NULL) in the call's
 * arena; their strings are those of *views: free them
 * (ck_sandbox_views_free) once the entries are packed or sent. */
int ck_pod_list_items(ck_call *call, const Runtime__V1__PodSandboxFilter *filter, Runtime__V1__PodSandbox ***items,
                      size_t *n_items, ck_sandbox_view **views, size_t *n_views, ck_err *err);

/* One pod's stats entry (attributes, and usage when it is READY). */
Runtime__V1__PodSandboxStats *ck_pod_stats(ck_call *call, const ck_sandbox_view *v, ck_err *err);
/* The stats entries of the READY pods a filter (may be NULL) matches. */
int ck_pod_stats_collect(ck_call *call, const Runtime__V1__PodSandboxStatsFilter *filter,
                         Runtime__V1__PodSandboxStats ***out, size_t *n_out, ck_err *err);

/* Fills a protobuf map field (entries of type T, initialised by init) from
 * n key-value pairs. Evaluates to 0, or -1 when out of memory. T is spelled
 * __typeof__(T) where it declares, so the type argument stays one
 * parenthesised unit like every other macro argument. */
#define CK_PB_MAP_FROM_KV(call, kvs, n, T, init, out_entries, out_n)                       \
    ({                                                                                     \
        int rc_ = 0;                                                                       \
        size_t n_ = (n);                                                                   \
        __typeof__(T) **e_ = ck_call_alloc((call), (n_ + 1) * sizeof(__typeof__(T) *));    \
        size_t k_ = 0;                                                                     \
        if (e_ == NULL)                                                                    \
            rc_ = -1;                                                                      \
        for (size_t i_ = 0; rc_ == 0 && i_ < n_; i_++) {                                   \
            __typeof__(T) *m_ = CK_NEW((call), T, init);                                   \
            if (m_ == NULL || (m_->key = ck_call_strdup((call), (kvs)[i_].key)) == NULL || \
                (m_->value = ck_call_strdup((call), (kvs)[i_].value)) == NULL) {           \
                rc_ = -1;                                                                  \
                break;                                                                     \
            }                                                                              \
            e_[k_++] = m_;                                                                 \
        }                                                                                  \
        (out_entries) = e_;                                                                \
        (out_n) = k_;                                                                      \
        rc_;                                                                               \
    })

/* A string field pointing at s, not a copy: for a message packed or sent
 * while what s lives in is held (protobuf-c never writes to it). */
static inline char *ck_pb_borrow(const char *s)
{
    return (char *)s;
}

/* As CK_PB_MAP_FROM_KV, with entries pointing at the pairs' strings
 * (ck_pb_borrow) and allocated in one block. */
#define CK_PB_MAP_BORROW_KV(call, kvs, n, T, init, out_entries, out_n)      \
    ({                                                                      \
        size_t n_ = (n);                                                    \
        __typeof__(T) **e_ = ck_call_alloc((call), (n_ + 1) * sizeof(*e_)); \
        __typeof__(T) *m_ = ck_call_alloc((call), (n_ + 1) * sizeof(*m_));  \
        bool ok_ = e_ != NULL && m_ != NULL;                                \
        for (size_t i_ = 0; ok_ && i_ < n_; i_++) {                         \
            init(&m_[i_]);                                                  \
            m_[i_].key = ck_pb_borrow((kvs)[i_].key);                       \
            m_[i_].value = ck_pb_borrow((kvs)[i_].value);                   \
            e_[i_] = &m_[i_];                                               \
        }                                                                   \
        (out_entries) = e_;                                                 \
        (out_n) = ok_ ? n_ : 0;                                             \
        ok_ ? 0 : -1;                                                       \
    })

#endif
