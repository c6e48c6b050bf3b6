import torch

from balenas.augment import augment_batch_gather
from balenas.data import DataConfig, augment_batch


def test_gather_augmentation_is_bit_identical_to_the_per_image_loop():
    x = torch.randn(16, 3, 10, 12)
    for pad, flip in [(4, True), (2, False), (0, True)]:
        cfg = DataConfig("d", "digits", crop_padding=pad, flip=flip)
        a = augment_batch(x, cfg, torch.Generator().manual_seed(3))
        b = augment_batch_gather(x, cfg, torch.Generator().manual_seed(3))
        assert torch.equal(a, b)
        if pad:
            assert not torch.equal(a, x)  # the crop really moved pixels
