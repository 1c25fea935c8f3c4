/* cli-test-response-failer: lets every request through (logging one INFO line
 * and counting it), fails every response with 503 and a text. Shows what
 * `chain run` reports for a failing response plugin (the immediate response
 * serve gives), a plugin's log lines and its counter changes. */
#include <bbr/plugin.h>

#include <string.h>

typedef struct failer {
  const bbr_host_api_t* api;
  const bbr_plugin_context_t* context;
} failer_t;

static failer_t instances[8];
static unsigned next_instance = 0;

static int failer_create(const bbr_create_args_t* args, void** instance_out) {
  failer_t* self = &instances[next_instance++ % 8];
  self->api = args->api;
  self->context = args->context;
  *instance_out = self;
  return 0;
}

static void failer_destroy(void* instance) { (void)instance; }

static bbr_result_t failer_request(void* instance, bbr_message_t* msg) {
  static const char line[] = "request seen";
  static const char counter[] = "cli_test_requests_total";
  failer_t* self = (failer_t*)instance;
  (void)msg;
  self->api->log(self->context, BBR_LOG_INFO, line, sizeof(line) - 1);
  self->api->counter_add(self->context, counter, sizeof(counter) - 1, NULL, 0, NULL, 0, 1);
  return BBR_CONTINUE;
}

static bbr_result_t failer_response(void* instance, bbr_message_t* msg) {
  static const char text[] = "upstream answer refused";
  failer_t* self = (failer_t*)instance;
  self->api->set_error(msg, text, sizeof(text) - 1);
  return BBR_FAIL_UNAVAILABLE;
}

static const bbr_plugin_type_t failer_type = {
    .struct_size = sizeof(bbr_plugin_type_t),
    .name = "cli-test-response-failer",
    .version = "1.0.0",
    .description = "logs and counts requests, fails responses with 503",
    .capabilities = BBR_CAP_REQUEST | BBR_CAP_RESPONSE,
    .create = failer_create,
    .destroy = failer_destroy,
    .process_request = failer_request,
    .process_response = failer_response,
};
static const bbr_plugin_type_t* const types[] = {&failer_type};
static const bbr_plugin_library_t library = {sizeof(bbr_plugin_library_t), BBR_ABI_MAJOR,
                                             BBR_ABI_MINOR, 1, types};

BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1(const bbr_host_info_t* host) {
  (void)host;
  return &library;
}
