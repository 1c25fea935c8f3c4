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

ABI_TEST_EXPORT_REQUEST_TYPE("abi-test-create-fails", "create() always fails", create_fails, pass)
