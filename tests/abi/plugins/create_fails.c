/* create() refuses with an explanation, as a plugin does on bad parameters. */
#include "abi_test_plugin.h"

static int create_fails(const bbr_create_args_t* args, void** instance_out) {
  (void)instance_out;
  snprintf(args->error, args->error_capacity, "parameter 'threshold' must be a number, got %.*s",
           (int)args->parameters_json.length,
           args->parameters_json.length ? args->parameters_json.data : "nothing");
  return 1;
}

static bbr_result_t pass(void* instance, bbr_message_t* msg) {
  (void)instance;
  (void)msg;
  return BBR_CONTINUE;
}

static const bbr_plugin_type_t the_type = {sizeof(bbr_plugin_type_t),
                                           "abi-test-create-fails",
                                           "1.0.0",
                                           "create() always fails",
                                           BBR_CAP_REQUEST,
                                           NULL,
                                           create_fails,
                                           abi_test_destroy,
                                           pass,
                                           NULL};
static const bbr_plugin_type_t* const types[] = {&the_type};
static const bbr_plugin_library_t library = {sizeof(bbr_plugin_library_t), BBR_ABI_MAJOR,
                                             BBR_ABI_MINOR, 1, types};

BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1(const bbr_host_info_t* host) {
  (void)host;
  return &library;
}
