# unit_cli runs the real binary on the real plugins: build them first.
# Included from tests/unit/CMakeLists.txt after the unit_<area> targets exist.
if(TARGET unit_cli)
  add_dependencies(unit_cli bbr-host body-field-to-header base-model-to-header abi_plugins)
endif()
