"""The image tokenizer: codes in range, a grid per image, decoded spans are PNGs of the right size."""
import io

import pytest
import torch
from PIL import Image as PILImage

from m2io.unified.tokenizer import ImageTokenizer, TokenizerConfig, TokenizerError, png_bytes, to_pil, to_square


def test_codes_and_reconstruction_shapes():
    torch.manual_seed(0)
    tok = ImageTokenizer(TokenizerConfig(channels=8)).eval()
    images = torch.rand(3, 3, 64, 64)
    recon, codes = tok(images)
    assert codes.shape == (3, 64) and codes.dtype == torch.long
    assert 0 <= int(codes.min()) and int(codes.max()) < tok.codebook_size == 1000
    assert recon.shape == images.shape
    # decode(encode(x)) is the forward pass's reconstruction, clamped
    assert torch.allclose(tok.decode(tok.encode(images)), recon.clamp(0, 1), atol=1e-5)


def test_larger_grid_and_bad_config():
    tok = ImageTokenizer(TokenizerConfig(image_size=96, downsample=8, channels=8))
    assert tok.encode(torch.rand(1, 3, 96, 96)).shape == (1, 144)
    with pytest.raises(TokenizerError, match="power of 2"):
        ImageTokenizer(TokenizerConfig(image_size=64, downsample=6, channels=8))


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(1)
    tok = ImageTokenizer(TokenizerConfig(channels=8)).eval()
    tok.save(tmp_path / "tok")
    again = ImageTokenizer.load(tmp_path / "tok")
    x = torch.rand(2, 3, 64, 64)
    assert torch.equal(tok.encode(x), again.encode(x))


def test_load_names_the_folder(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "tokenizer.json").write_text("{not json")
    with pytest.raises(TokenizerError, match="broken"):
        ImageTokenizer.load(tmp_path / "broken")


def test_decoded_span_is_a_png_of_the_grid_size():
    tok = ImageTokenizer(TokenizerConfig(channels=8)).eval()
    codes = torch.randint(0, tok.codebook_size, (1, 64))
    png = png_bytes(to_pil(tok.decode(codes))[0])
    image = PILImage.open(io.BytesIO(png))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and image.format == "PNG" and image.size == (64, 64)


def test_to_square_keeps_aspect_on_white():
    wide = PILImage.new("RGBA", (100, 20), (255, 0, 0, 255))
    square = to_square(wide, 50)
    assert square.size == (50, 50)
    assert square.getpixel((25, 0)) == (255, 255, 255)  # letterbox above the picture
    assert square.getpixel((25, 25))[0] > 200 and square.getpixel((25, 25))[1] < 50
