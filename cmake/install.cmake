# Installing faultline as a CMake package, so a project of its own can write
#
#   find_package(faultline REQUIRED)
#   target_link_libraries(my-designs PRIVATE faultline::app)
#
# and get the libraries, their headers, the same dependencies (found again by
# faultlineConfig.cmake) and the `faultline` command. examples/custom_design/ is such a
# project; the test at the end of this file builds it against a fresh install.
#
# Included at the very end of the top-level CMakeLists.txt, after every target exists.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(FAULTLINE_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/faultline"
    CACHE STRING "Where faultlineConfig.cmake is installed, relative to the prefix")

# Imported names are faultline::<layer>, the same as the aliases inside this build.
set_target_properties(faultline_sim PROPERTIES EXPORT_NAME sim)
set_target_properties(faultline_models PROPERTIES EXPORT_NAME models)
set_target_properties(faultline_results PROPERTIES EXPORT_NAME results)
set_target_properties(faultline_reports PROPERTIES EXPORT_NAME reports)
set_target_properties(faultline_properties PROPERTIES EXPORT_NAME properties)
set_target_properties(faultline_app PROPERTIES EXPORT_NAME app)
set_target_properties(faultline PROPERTIES EXPORT_NAME faultline)

# Our static libraries link faultline_warnings PRIVATE, and CMake still records a
# static library's private dependencies as $<LINK_ONLY:...> in its link interface, so
# the export set must contain the warnings target too. It only carries compile flags,
# which $<LINK_ONLY:> never propagates; the installed copy is made empty anyway, so a
# user who links faultline::warnings by hand does not inherit our -Werror.
set_target_properties(faultline_warnings PROPERTIES EXPORT_NAME warnings)
get_target_property(faultline_warning_options faultline_warnings INTERFACE_COMPILE_OPTIONS)
if(faultline_warning_options)
  list(TRANSFORM faultline_warning_options PREPEND "$<BUILD_INTERFACE:")
  list(TRANSFORM faultline_warning_options APPEND ">")
  set_target_properties(faultline_warnings PROPERTIES INTERFACE_COMPILE_OPTIONS "${faultline_warning_options}")
endif()

# A sanitizer build's libraries need the sanitizer runtimes at link time; the flags
# are directory-wide here (add_link_options), so the installed targets say it themselves.
if(FAULTLINE_SANITIZE)
  target_link_options(faultline_sim INTERFACE "$<INSTALL_INTERFACE:-fsanitize=address,undefined>")
endif()

install(TARGETS
    faultline_sim
    faultline_models
    faultline_results
    faultline_reports
    faultline_properties
    faultline_app
    faultline_warnings
    faultline
  EXPORT faultlineTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")

# The public headers: every layer's include/ tree merges into one include/faultline/.
foreach(layer sim models properties reports apps)
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/${layer}/include/"
    DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
    FILES_MATCHING PATTERN "*.h")
endforeach()

install(EXPORT faultlineTargets
  NAMESPACE faultline::
  FILE faultlineTargets.cmake
  DESTINATION "${FAULTLINE_INSTALL_CMAKEDIR}")

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/faultlineConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/faultlineConfig.cmake"
  INSTALL_DESTINATION "${FAULTLINE_INSTALL_CMAKEDIR}")
# Before 1.0 a minor version may break the API, so only the same minor version matches.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/faultlineConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMinorVersion)
install(FILES
    "${PROJECT_BINARY_DIR}/faultlineConfig.cmake"
    "${PROJECT_BINARY_DIR}/faultlineConfigVersion.cmake"
  DESTINATION "${FAULTLINE_INSTALL_CMAKEDIR}")

# Goal: a user's project builds against the installed package and its own design runs
# next to the built-in ones. Method: install this build tree into a fresh temporary
# prefix, configure and build examples/custom_design against it, run its command and
# its property test (see the script). It compiles a small project, so it takes a while.
if(FAULTLINE_BUILD_TESTS)
  add_test(NAME Example.CustomDesignBuildsAgainstTheInstalledPackage
    COMMAND "${PROJECT_SOURCE_DIR}/examples/custom_design/build-against-install.sh" "${PROJECT_BINARY_DIR}")
  set_tests_properties(Example.CustomDesignBuildsAgainstTheInstalledPackage PROPERTIES
    TIMEOUT 600
    LABELS "example;slow"
    # The example is built with the compiler and the cmake of this build.
    ENVIRONMENT "CMAKE=${CMAKE_COMMAND};CXX=${CMAKE_CXX_COMPILER}")
endif()
