"""Task modules: one per domain, each a `tasks.base.GrokTask` (a LightningDataModule)."""
