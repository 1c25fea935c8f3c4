# unit_config loads the in-tree plugins and the deliberately broken ABI plugins.
add_dependencies(unit_config body-field-to-header base-model-to-header abi_plugins)
