# Install rules and the package config: find_package(actk CONFIG) gives actk::actk.
include(CMakePackageConfigHelpers)

install(TARGETS actk EXPORT actkTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/actk DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES "${PROJECT_BINARY_DIR}/include/actk/version.hpp" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/actk)
install(EXPORT actkTargets NAMESPACE actk:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/actk)

configure_package_config_file(cmake/actkConfig.cmake.in "${PROJECT_BINARY_DIR}/actkConfig.cmake"
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/actk)
write_basic_package_version_file("${PROJECT_BINARY_DIR}/actkConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/actkConfig.cmake" "${PROJECT_BINARY_DIR}/actkConfigVersion.cmake"
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/actk)
