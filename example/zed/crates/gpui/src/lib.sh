# gpui: the UI framework (here: how a window is described).
gpui_window() {
    echo "window: $1"
}
