/*
 * pod_view: pieces shared by the pod sandbox handlers: metadata and the
 * string maps (labels, annotations) of a ck_sandbox_view in the call's arena.
 */
#ifndef CK_CRI_POD_VIEW_H
#define CK_CRI_POD_VIEW_H

#include <jansson.h>

#include "cri/handlers.h"
#include "sandbox/sandbox.h"

Runtime__V1__PodSandboxMetadata *ck_pod_metadata(ck_call *call, const ck_sandbox_view *v);

/* Pods per stream message. */
enum { CK_STREAM_BATCH = 256 };

/* The ListPodSandbox answer for a filter (may be NULL), in the call's arena. */
int ck_pod_list_items(ck_call *call, const Runtime__V1__PodSandboxFilter *filter, Runtime__V1__PodSandbox ***items,
                      size_t *n_items, ck_err *err);

/* Fills a protobuf map field (entries of type T, initialised by init) from a
 * JSON object of strings. Evaluates to 0, or -1 when out of memory. T is
 * spelled __typeof__(T) where it declares, so the type argument stays one
 * parenthesised unit like every other macro argument. */
#define CK_PB_MAP_FROM_JSON(call, obj, T, init, out_entries, out_n)                                     \
    ({                                                                                                  \
        int rc_ = 0;                                                                                    \
        size_t n_ = json_object_size(obj);                                                              \
        __typeof__(T) **e_ = ck_call_alloc((call), (n_ + 1) * sizeof(__typeof__(T) *));                 \
        size_t k_ = 0;                                                                                  \
        const char *key_;                                                                               \
        json_t *val_;                                                                                   \
        if (e_ == NULL)                                                                                 \
            rc_ = -1;                                                                                   \
        json_object_foreach((obj), key_, val_)                                                          \
        {                                                                                               \
            if (rc_ < 0)                                                                                \
                break;                                                                                  \
            __typeof__(T) *m_ = CK_NEW((call), T, init);                                                \
            if (m_ == NULL) {                                                                           \
                rc_ = -1;                                                                               \
                break;                                                                                  \
            }                                                                                           \
            m_->key = ck_call_strdup((call), key_);                                                     \
            m_->value = ck_call_strdup((call), json_string_value(val_) ? json_string_value(val_) : ""); \
            e_[k_++] = m_;                                                                              \
        }                                                                                               \
        (out_entries) = e_;                                                                             \
        (out_n) = k_;                                                                                   \
        rc_;                                                                                            \
    })

#endif
