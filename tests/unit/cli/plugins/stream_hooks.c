/* Two response types for `plugins validate` and `chain run` on streamed
 * responses:
 *   cli-test-event-failer  an event hook that fails every call (a failure the
 *                          client never sees: the response has started)
 *   cli-test-chunk-counter a chunk hook that lets every chunk through and
 *                          counts the calls in the counter cli_test_chunks_total */
#include <bbr/plugin.h>

#include <stddef.h>

typedef struct hooks {
  const bbr_host_api_t* api;
  const bbr_plugin_context_t* context;
} hooks_t;

static hooks_t instances[8];
static unsigned next_instance = 0;

static int hooks_create(const bbr_create_args_t* args, void** instance_out) {
  hooks_t* self = &instances[next_instance++ % 8];
  self->api = args->api;
  self->context = args->context;
  *instance_out = self;
  return 0;
}

static void hooks_destroy(void* instance) { (void)instance; }

static bbr_result_t event_fails(void* instance, bbr_message_t* msg) {
  static const char text[] = "event refused";
  hooks_t* self = (hooks_t*)instance;
  self->api->set_error(msg, text, sizeof(text) - 1);
  return BBR_FAIL_INTERNAL;
}

static bbr_result_t chunk_counts(void* instance, bbr_message_t* msg) {
  static const char counter[] = "cli_test_chunks_total";
  hooks_t* self = (hooks_t*)instance;
  (void)msg;
  self->api->counter_add(self->context, counter, sizeof(counter) - 1, NULL, 0, NULL, 0, 1);
  return BBR_CONTINUE;
}

static const bbr_plugin_type_t event_failer = {
    .struct_size = sizeof(bbr_plugin_type_t),
    .name = "cli-test-event-failer",
    .version = "1.0.0",
    .description = "fails every SSE event",
    .capabilities = BBR_CAP_RESPONSE_EVENT,
    .create = hooks_create,
    .destroy = hooks_destroy,
    .process_response_event = event_fails,
};
static const bbr_plugin_type_t chunk_counter = {
    .struct_size = sizeof(bbr_plugin_type_t),
    .name = "cli-test-chunk-counter",
    .version = "1.0.0",
    .description = "counts response chunks",
    .capabilities = BBR_CAP_RESPONSE_CHUNK,
    .create = hooks_create,
    .destroy = hooks_destroy,
    .process_response_chunk = chunk_counts,
};
static const bbr_plugin_type_t* const types[] = {&event_failer, &chunk_counter};
static const bbr_plugin_library_t library = {sizeof(bbr_plugin_library_t), BBR_ABI_MAJOR,
                                             BBR_ABI_MINOR, 2, types};

BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1(const bbr_host_info_t* host) {
  (void)host;
  return &library;
}
