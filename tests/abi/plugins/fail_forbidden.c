/* process_request fails with BBR_FAIL_FORBIDDEN and an explanation. */
#include "abi_test_plugin.h"

static bbr_result_t forbid(void* instance, bbr_message_t* msg) {
  static const char text[] = "api key not allowed to use this model";
  abi_test_api(instance)->set_error(msg, text, sizeof(text) - 1);
  return BBR_FAIL_FORBIDDEN;
}

static const bbr_plugin_type_t the_type = {sizeof(bbr_plugin_type_t),
                                           "abi-test-fail-forbidden",
                                           "1.0.0",
                                           "fails every request with 403",
                                           BBR_CAP_REQUEST,
                                           NULL,
                                           abi_test_create,
                                           abi_test_destroy,
                                           forbid,
                                           NULL};
static const bbr_plugin_type_t* const types[] = {&the_type};
static const bbr_plugin_library_t library = {sizeof(bbr_plugin_library_t), BBR_ABI_MAJOR,
                                             BBR_ABI_MINOR, 1, types};

BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1(const bbr_host_info_t* host) {
  (void)host;
  return &library;
}
