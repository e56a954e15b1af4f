"""Live camera picture for the scan screen, from a scanner that is a PreviewSource."""

from __future__ import annotations

from kivy.clock import Clock
from kivy.graphics.texture import Texture
from kivy.uix.image import Image

from hardware.interfaces import PreviewSource

FPS = 12  # enough to aim a phone; every frame costs the UI thread a texture upload


class CameraPreview(Image):
    def __init__(self, source: PreviewSource, **kwargs):
        kwargs.setdefault("fit_mode", "contain")
        super().__init__(**kwargs)
        self._source = source
        self._sequence = -1
        self._event = None

    def start(self) -> None:
        if self._event is None:
            self._event = Clock.schedule_interval(self._update, 1 / FPS)

    def stop(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None
        self._sequence = -1

    def _update(self, _dt) -> None:
        frame = self._source.preview_frame()
        if frame is None or frame.sequence == self._sequence:
            return
        self._sequence = frame.sequence
        texture = self.texture
        if texture is None or tuple(texture.size) != (frame.width, frame.height):
            texture = Texture.create(size=(frame.width, frame.height), colorfmt="rgb")
            texture.flip_vertical()  # frames come top row first, OpenGL draws bottom up
        texture.blit_buffer(frame.rgb, colorfmt="rgb", bufferfmt="ubyte")
        self.texture = texture
        self.canvas.ask_update()
