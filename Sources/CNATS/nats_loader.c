// nats.c on demand: each function of nats.h that Malten calls is defined here as a call through a
// pointer, which malten_nats_load() resolves from libnats.so.3.4 with dlopen/dlsym. No other code
// needs to know: MaltenCluster calls the functions as nats.h declares them, after loading.
#include "cnats.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

// Every function used, as (return type, name, parameters, arguments).
#define MALTEN_NATS_FUNCTIONS(X) \
    X(void, natsConnection_Close, (natsConnection *nc), (nc)) \
    X(natsStatus, natsConnection_Connect, (natsConnection **nc, natsOptions *options), (nc, options)) \
    X(void, natsConnection_Destroy, (natsConnection *nc), (nc)) \
    X(natsStatus, natsConnection_FlushTimeout, (natsConnection *nc, int64_t timeout), (nc, timeout)) \
    X(natsStatus, natsConnection_Publish, (natsConnection *nc, const char *subj, const void *data, int dataLen), (nc, subj, data, dataLen)) \
    X(natsStatus, natsConnection_PublishRequest, (natsConnection *nc, const char *subj, const char *reply, const void *data, int dataLen), (nc, subj, reply, data, dataLen)) \
    X(natsConnStatus, natsConnection_Status, (natsConnection *nc), (nc)) \
    X(natsStatus, natsConnection_Subscribe, (natsSubscription **sub, natsConnection *nc, const char *subject, natsMsgHandler cb, void *cbClosure), (sub, nc, subject, cb, cbClosure)) \
    X(void, natsMsg_Destroy, (natsMsg *msg), (msg)) \
    X(const char *, natsMsg_GetData, (const natsMsg *msg), (msg)) \
    X(int, natsMsg_GetDataLength, (const natsMsg *msg), (msg)) \
    X(const char *, natsMsg_GetReply, (const natsMsg *msg), (msg)) \
    X(const char *, natsMsg_GetSubject, (const natsMsg *msg), (msg)) \
    X(natsStatus, natsOptions_Create, (natsOptions **newOpts), (newOpts)) \
    X(void, natsOptions_Destroy, (natsOptions *opts), (opts)) \
    X(natsStatus, natsOptions_LoadCATrustedCertificates, (natsOptions *opts, const char *fileName), (opts, fileName)) \
    X(natsStatus, natsOptions_SetDisconnectedCB, (natsOptions *opts, natsConnectionHandler cb, void *closure), (opts, cb, closure)) \
    X(natsStatus, natsOptions_SetMaxPendingMsgs, (natsOptions *opts, int maxPending), (opts, maxPending)) \
    X(natsStatus, natsOptions_SetMaxPingsOut, (natsOptions *opts, int maxPingsOut), (opts, maxPingsOut)) \
    X(natsStatus, natsOptions_SetMaxReconnect, (natsOptions *opts, int maxReconnect), (opts, maxReconnect)) \
    X(natsStatus, natsOptions_SetName, (natsOptions *opts, const char *name), (opts, name)) \
    X(natsStatus, natsOptions_SetNoEcho, (natsOptions *opts, bool noEcho), (opts, noEcho)) \
    X(natsStatus, natsOptions_SetPingInterval, (natsOptions *opts, int64_t interval), (opts, interval)) \
    X(natsStatus, natsOptions_SetReconnectBufSize, (natsOptions *opts, int size), (opts, size)) \
    X(natsStatus, natsOptions_SetReconnectJitter, (natsOptions *opts, int64_t jitter, int64_t jitterTLS), (opts, jitter, jitterTLS)) \
    X(natsStatus, natsOptions_SetReconnectWait, (natsOptions *opts, int64_t reconnectWait), (opts, reconnectWait)) \
    X(natsStatus, natsOptions_SetReconnectedCB, (natsOptions *opts, natsConnectionHandler cb, void *closure), (opts, cb, closure)) \
    X(natsStatus, natsOptions_SetRetryOnFailedConnect, (natsOptions *opts, bool retry, natsConnectionHandler connectedCb, void *closure), (opts, retry, connectedCb, closure)) \
    X(natsStatus, natsOptions_SetServers, (natsOptions *opts, const char **servers, int serversCount), (opts, servers, serversCount)) \
    X(natsStatus, natsOptions_SetTimeout, (natsOptions *opts, int64_t timeout), (opts, timeout)) \
    X(natsStatus, natsOptions_UseGlobalMessageDelivery, (natsOptions *opts, bool global), (opts, global)) \
    X(const char *, natsStatus_GetText, (natsStatus s), (s)) \
    X(natsStatus, natsSubscription_SetPendingLimits, (natsSubscription *sub, int msgLimit, int bytesLimit), (sub, msgLimit, bytesLimit))

#define MALTEN_NATS_DEFINE(type, name, parameters, arguments) \
    static type (*loaded_##name) parameters; \
    type name parameters { return loaded_##name arguments; }
MALTEN_NATS_FUNCTIONS(MALTEN_NATS_DEFINE)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *failure;
static char failure_text[512];

static void fail(void) {
    const char *reason = dlerror();
    snprintf(failure_text, sizeof failure_text, "%s", reason != NULL ? reason : "unknown dlopen error");
    failure = failure_text;
}

static void load(void) {
    void *library = dlopen("libnats.so.3.4", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) { fail(); return; }
#define MALTEN_NATS_RESOLVE(type, name, parameters, arguments) \
    if ((*(void **)&loaded_##name = dlsym(library, #name)) == NULL) { fail(); return; }
    MALTEN_NATS_FUNCTIONS(MALTEN_NATS_RESOLVE)
}

const char *malten_nats_load(void) {
    pthread_once(&once, load);
    return failure;
}
