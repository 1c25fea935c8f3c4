/* Descriptors the loader must refuse (or accept) for the streamed-response
 * capabilities of ABI 1.1; exactly one macro is defined per target
 * (tests/plugins/CMakeLists.txt). */
#include <bbr/plugin.h>

#include <stddef.h>

static int create(const bbr_create_args_t *args, void **instance_out) {
  (void)args;
  *instance_out = NULL;
  return 0;
}
static void destroy(void *instance) { (void)instance; }
static bbr_result_t pass(void *instance, bbr_message_t *msg) {
  (void)instance;
  (void)msg;
  return BBR_CONTINUE;
}

#if defined(CHUNK_CAP_WITHOUT_HOOK)
#define CAPS BBR_CAP_RESPONSE_CHUNK
#define SIZE sizeof(bbr_plugin_type_t)
#define CHUNK NULL
#define EVENT NULL
#elif defined(EVENT_CAP_WITHOUT_HOOK)
#define CAPS (BBR_CAP_RESPONSE | BBR_CAP_RESPONSE_EVENT)
#define SIZE sizeof(bbr_plugin_type_t)
#define CHUNK NULL
#define EVENT NULL
#elif defined(EVENT_CAP_ON_1_0_DESCRIPTOR)
/* The hook is set, but a 1.0-sized descriptor says it is not there. */
#define CAPS (BBR_CAP_RESPONSE | BBR_CAP_RESPONSE_EVENT)
#define SIZE offsetof(bbr_plugin_type_t, process_response_chunk)
#define CHUNK NULL
#define EVENT pass
#else /* EVENT_ONLY_GOOD: only the event capability, which is enough */
#define CAPS BBR_CAP_RESPONSE_EVENT
#define SIZE sizeof(bbr_plugin_type_t)
#define CHUNK NULL
#define EVENT pass
#endif

static const bbr_plugin_type_t the_type = {
    SIZE, "stream-descriptor", "1.0.0", "streamed-response descriptor check", CAPS, NULL, create,
    destroy, NULL, (CAPS & BBR_CAP_RESPONSE) ? pass : NULL, CHUNK, EVENT};
static const bbr_plugin_type_t *const types[] = {&the_type};
static const bbr_plugin_library_t library = {sizeof(bbr_plugin_library_t), BBR_ABI_MAJOR,
                                             BBR_ABI_MINOR, 1, types};

BBR_PLUGIN_EXPORT const bbr_plugin_library_t *bbr_plugin_entry_v1(const bbr_host_info_t *host) {
  (void)host;
  return &library;
}
