# unit_loader loads the real in-tree plugins and the tests/abi plugins: build them first.
# Included from tests/unit/CMakeLists.txt after the unit_<area> targets exist.
if(TARGET unit_loader)
  add_dependencies(unit_loader body-field-to-header base-model-to-header abi_plugins)
endif()
