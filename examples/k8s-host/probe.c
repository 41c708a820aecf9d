/*
 * ResourceQuota probe: a jobq_probe whose read goes through the deployer,
 * which lists the namespace's quotas, applications and pods once per
 * cycle (deployer.h explains the late-usage reservation).
 */
#include "probe.h"

#include <string.h>

static int read_quota(void *ctx, const char *ns, jobq_resources *hard,
                      jobq_resources *used)
{
    k8s_probe *probe = ctx;
    return k8s_deployer_read_quota(probe->deployer, ns, hard, used);
}

void k8s_probe_vtable(jobq_probe *vtable, k8s_probe *probe)
{
    memset(vtable, 0, sizeof *vtable);
    vtable->version = JOBQ_PROBE_VERSION;
    vtable->ctx = probe;
    vtable->read_quota = read_quota;
}
