# zed: the application entry point.
zed_main() {
    case "${1:-}" in
        --version) echo "zed $ZED_VERSION ($ZED_BUILD_TYPE)" ;;
        *) editor_open "${1:-untitled}" ;;
    esac
}
zed_main "$@"
