"""Summary cards: a big figure with a caption under it (customers, days, thieves, ...)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget


class Card(QFrame):
    def __init__(self, caption: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumWidth(120)
        self.value_label = QLabel("-")
        font = self.value_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.7)
        font.setBold(True)
        self.value_label.setFont(font)
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.value_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.caption_label = QLabel(caption)
        self.caption_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addWidget(self.value_label)
        layout.addWidget(self.caption_label)

    def set_value(self, text: str, caption: str | None = None, colour: str | None = None) -> None:
        self.value_label.setText(text)
        if caption is not None:
            self.caption_label.setText(caption)
        self.value_label.setStyleSheet(f"color: {colour};" if colour else "")

    @property
    def value(self) -> str:
        return self.value_label.text()


class CardRow(QWidget):
    """A row of cards addressed by key: ``row["customers"].set_value("2,000")``."""

    def __init__(self, captions: dict[str, str], parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.cards = {key: Card(caption) for key, caption in captions.items()}
        for card in self.cards.values():
            layout.addWidget(card)

    def __getitem__(self, key: str) -> Card:
        return self.cards[key]
