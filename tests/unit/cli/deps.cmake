# unit_cli runs the real binary on the real plugins: build them first.
# Included from tests/unit/CMakeLists.txt after the unit_<area> targets exist.
if(TARGET unit_cli)
  # A plugin only the CLI tests use (a response hook that fails, logs, counts),
  # in a folder of its own so no other test scans it.
  bbr_add_plugin(cli_test_plugins SOURCES ${CMAKE_CURRENT_LIST_DIR}/plugins/response_failer.c
                 OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/cli-test-plugins)
  target_compile_options(cli_test_plugins PRIVATE ${BBR_WARNINGS})
  # Chunk and event hooks (one that fails every event), beside it.
  bbr_add_plugin(cli_test_stream_hooks SOURCES ${CMAKE_CURRENT_LIST_DIR}/plugins/stream_hooks.c
                 OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/cli-test-plugins)
  target_compile_options(cli_test_stream_hooks PRIVATE ${BBR_WARNINGS})
  add_dependencies(unit_cli bbr-host body-field-to-header base-model-to-header guardrail affinity abi_plugins
                   cli_test_plugins cli_test_stream_hooks)
  target_compile_definitions(unit_cli PRIVATE
    BBR_CLI_TEST_PLUGIN_DIR="${CMAKE_BINARY_DIR}/cli-test-plugins")
endif()
