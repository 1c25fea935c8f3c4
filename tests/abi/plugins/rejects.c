/* A guardrail: answers every request with 403 and a JSON body via reject(). */
#include "abi_test_plugin.h"

static bbr_result_t refuse(void* instance, bbr_message_t* msg) {
  static const char body[] = "{\"error\":\"blocked by policy\"}";
  abi_test_api(instance)->reject(msg, 403, body, sizeof(body) - 1);
  return BBR_CONTINUE;
}

static const bbr_plugin_type_t the_type = {sizeof(bbr_plugin_type_t),
                                           "abi-test-rejects",
                                           "1.0.0",
                                           "rejects every request with 403",
                                           BBR_CAP_REQUEST,
                                           NULL,
                                           abi_test_create,
                                           abi_test_destroy,
                                           refuse,
                                           NULL};
static const bbr_plugin_type_t* const types[] = {&the_type};
static const bbr_plugin_library_t library = {sizeof(bbr_plugin_library_t), BBR_ABI_MAJOR,
                                             BBR_ABI_MINOR, 1, types};

BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1(const bbr_host_info_t* host) {
  (void)host;
  return &library;
}
