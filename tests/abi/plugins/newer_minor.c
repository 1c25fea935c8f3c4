/* A correct plugin that says it was built for the next ABI minor: it loads,
 * with a warning naming the file. */
#include "abi_test_plugin.h"

static bbr_result_t mark(void* instance, bbr_message_t* msg) {
  const bbr_host_api_t* api = abi_test_api(instance);
  api->set_header(msg, "x-abi-test", 10, "ok", 2);
  return BBR_CONTINUE;
}

static const bbr_plugin_type_t good_type = {
    sizeof(bbr_plugin_type_t),
    "abi-test-newer-minor",
    "1.0.0",
    "marks messages with x-abi-test: ok",
    BBR_CAP_REQUEST | BBR_CAP_RESPONSE | BBR_CAP_THREAD_SAFE,
    "{\"type\":\"object\"}",
    abi_test_create,
    abi_test_destroy,
    mark,
    mark};
static const bbr_plugin_type_t* const types[] = {&good_type};
static const bbr_plugin_library_t library = {sizeof(bbr_plugin_library_t), BBR_ABI_MAJOR,
                                             BBR_ABI_MINOR + 1, 1, types};

BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1(const bbr_host_info_t* host) {
  (void)host;
  return &library;
}
