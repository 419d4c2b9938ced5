"""Generative adversarial networks: implicit models, trained by :mod:`pgm.infer.adversarial`."""

from pgm.adversarial.base import AdversarialModel, ImageToImage
from pgm.adversarial.cyclegan import CycleGAN
from pgm.adversarial.dcgan import DCGAN
from pgm.adversarial.gan import GAN
from pgm.adversarial.infogan import InfoGAN
from pgm.adversarial.progan import ProgressiveGAN
from pgm.adversarial.puzzlegan import PuzzleGAN
from pgm.adversarial.stargan import StarGAN
from pgm.adversarial.text2image import TextToImageGAN

__all__ = ["AdversarialModel", "ImageToImage", "CycleGAN", "GAN", "DCGAN", "InfoGAN",
           "ProgressiveGAN", "PuzzleGAN", "StarGAN", "TextToImageGAN"]
