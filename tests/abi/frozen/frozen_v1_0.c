/* A plugin built against the FROZEN copy of the ABI 1.0 header
 * (tests/abi/frozen/v1.0/bbr/plugin.h, never edited): the stand-in for a
 * third-party binary compiled on the day 1.0 shipped. Every later host must
 * load it and give it what 1.0 promised, so it touches every part of the host
 * table a plugin of 1.0 could use and reports what it saw in headers:
 *   x-frozen-model      json_get of /model (a string view)
 *   x-frozen-param      parameter_get of /suffix
 *   x-frozen-edit       json_set then json_get_text of the new member
 *   x-frozen-state      state_put then state_get in the same call
 *   x-frozen-host-abi   the host's abi_major.abi_minor as seen at create()
 * It returns BBR_FAIL_BAD_REQUEST when any call answers something 1.0 did not
 * promise, with set_error naming the call. */
#include <bbr/plugin.h>

#include <stdio.h>
#include <string.h>

#if BBR_ABI_MAJOR != 1 || BBR_ABI_MINOR != 0
#error "frozen_v1_0.c must be compiled against the frozen ABI 1.0 header"
#endif

typedef struct frozen {
  const bbr_host_api_t* api;
  bbr_plugin_context_t* context;
  char host_abi[32];
} frozen_t;

static frozen_t instances[4];
static int next_instance = 0;
static int state_value = 42;

static int frozen_create(const bbr_create_args_t* args, void** instance_out) {
  frozen_t* self;
  if (next_instance >= 4) {
    snprintf(args->error, args->error_capacity, "too many instances");
    return 1;
  }
  self = &instances[next_instance++];
  self->api = args->api;
  self->context = args->context;
  snprintf(self->host_abi, sizeof self->host_abi, "%u.%u", (unsigned)args->api->abi_major,
           (unsigned)args->api->abi_minor);
  *instance_out = self;
  return 0;
}

static void frozen_destroy(void* instance) { (void)instance; }

static bbr_result_t fail(const frozen_t* self, bbr_message_t* msg, const char* what) {
  self->api->set_error(msg, what, strlen(what));
  return BBR_FAIL_BAD_REQUEST;
}

static bbr_result_t frozen_request(void* instance, bbr_message_t* msg) {
  const frozen_t* self = (const frozen_t*)instance;
  const bbr_host_api_t* api = self->api;
  bbr_json_value_t value;
  bbr_buffer_t text;
  void* got = NULL;
  char copy[128];

  if (api->phase(msg) != BBR_PHASE_REQUEST) return fail(self, msg, "phase");
  if (api->header_count(msg) == 0) return fail(self, msg, "header_count");

  memset(&value, 0, sizeof value);
  value.struct_size = sizeof value;
  if (api->json_get(msg, "/model", 6, &value) != BBR_OK || value.type != BBR_JSON_STRING ||
      value.string.length >= sizeof copy) {
    return fail(self, msg, "json_get /model");
  }
  memcpy(copy, value.string.data, value.string.length);
  if (api->set_header(msg, "x-frozen-model", 14, copy, value.string.length) != BBR_OK) {
    return fail(self, msg, "set_header x-frozen-model");
  }

  memset(&value, 0, sizeof value);
  value.struct_size = sizeof value;
  if (api->parameter_get(self->context, "/suffix", 7, &value) != BBR_OK ||
      value.type != BBR_JSON_STRING) {
    return fail(self, msg, "parameter_get /suffix");
  }
  api->set_header(msg, "x-frozen-param", 14, value.string.data, value.string.length);

  if (api->json_set(msg, "/frozen", 7, "[1,true]", 8) != BBR_OK) return fail(self, msg, "json_set");
  if (api->json_get_text(msg, "/frozen", 7, &text) != BBR_OK)
    return fail(self, msg, "json_get_text");
  api->set_header(msg, "x-frozen-edit", 13, text.data, text.length);

  if (api->state_put(msg, "frozen", 6, &state_value, NULL) != BBR_OK ||
      api->state_get(msg, "frozen", 6, &got) != BBR_OK || got != &state_value) {
    return fail(self, msg, "state_put/state_get");
  }
  api->set_header(msg, "x-frozen-state", 14, "42", 2);
  api->set_header(msg, "x-frozen-host-abi", 17, self->host_abi, strlen(self->host_abi));

  if (api->get_header(msg, "x-absent", 8, &text) != BBR_NOT_FOUND) {
    return fail(self, msg, "get_header of an absent header");
  }
  if (api->log_enabled(self->context, BBR_LOG_DEBUG)) {
    api->log(self->context, BBR_LOG_DEBUG, "frozen plugin ran", 17);
  }
  api->counter_add(self->context, "bbr_frozen_runs_total", 21, "", 0, "", 0, 1);
  return BBR_CONTINUE;
}

static const bbr_plugin_type_t frozen_type = {sizeof(bbr_plugin_type_t),
                                              "abi-test-frozen-1-0",
                                              "1.0.0",
                                              "built against the frozen ABI 1.0 header",
                                              BBR_CAP_REQUEST,
                                              "{\"type\":\"object\",\"required\":[\"suffix\"]}",
                                              frozen_create,
                                              frozen_destroy,
                                              frozen_request,
                                              NULL};
static const bbr_plugin_type_t* const types[] = {&frozen_type};
static const bbr_plugin_library_t library = {sizeof(bbr_plugin_library_t), BBR_ABI_MAJOR,
                                             BBR_ABI_MINOR, 1, types};

BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1(const bbr_host_info_t* host) {
  (void)host;
  return &library;
}
