"""Chest X-ray-like images, generated, and DICOM files around them.

These are NOT real radiographs: a torso, two lungs, a heart shadow, ribs, vessel
markings, exposure differences and noise, with an optional faint opacity (a nodule-like
finding) in one lung. Anatomy, position, exposure and noise vary between "patients", and
findings are low-contrast, so a classifier has to learn the finding, not the image.
"""

from __future__ import annotations

import numpy as np

# Digital X-Ray Image Storage - For Presentation (DICOM PS3.4)
DX_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.1.1"


def chest_image(
    rng: np.random.Generator, size: int, finding: bool
) -> tuple[np.ndarray, tuple[float, float] | None]:
    """One image in [0, 1] (shape size x size) and the finding's centre (or None)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    cx, cy = 0.5 + rng.normal(0, 0.03), 0.52 + rng.normal(0, 0.03)
    scale = rng.uniform(0.9, 1.1)
    torso = np.exp(-((((xx - cx) / (0.42 * scale)) ** 2 + ((yy - cy) / (0.5 * scale)) ** 2) ** 3))
    img = 0.15 + 0.55 * torso
    lungs = []
    for side in (-1, 1):
        lx, ly = cx + side * 0.17 * scale, cy - 0.04
        rx, ry = 0.12 * scale * rng.uniform(0.9, 1.1), 0.27 * scale * rng.uniform(0.9, 1.1)
        lung = np.exp(-((((xx - lx) / rx) ** 2 + ((yy - ly) / ry) ** 2) ** 2))
        img -= 0.35 * lung
        lungs.append((lx, ly, rx, ry))
    heart = np.exp(
        -(((xx - cx + 0.04) / 0.11) ** 2 + ((yy - cy - 0.1) / 0.1) ** 2) * rng.uniform(0.8, 1.2)
    )
    img += 0.25 * heart
    rib_phase = rng.uniform(0, 2 * np.pi)
    ribs = np.sin(2 * np.pi * (yy * 9 + 1.5 * (xx - cx) ** 2 * 9) + rib_phase)
    img += 0.05 * np.clip(ribs, 0, 1) * torso
    for _ in range(rng.integers(6, 14)):  # vessel markings: small bright specks in both classes
        lx, ly, rx, ry = lungs[rng.integers(2)]
        vx, vy = lx + rng.normal(0, rx / 2), ly + rng.normal(0, ry / 2)
        img += 0.04 * np.exp(-(((xx - vx) ** 2 + (yy - vy) ** 2) / (2 * (0.012**2))))
    centre = None
    if finding:
        lx, ly, rx, ry = lungs[rng.integers(2)]
        fx, fy = lx + rng.uniform(-0.5, 0.5) * rx, ly + rng.uniform(-0.6, 0.6) * ry
        radius = rng.uniform(0.03, 0.07)
        img += rng.uniform(0.08, 0.25) * np.exp(
            -(((xx - fx) ** 2 + (yy - fy) ** 2) / (2 * radius**2))
        )
        centre = (float(fx), float(fy))
    img = np.clip(img, 0, 1) ** rng.uniform(0.8, 1.25)  # exposure
    img += rng.normal(0, rng.uniform(0.01, 0.03), img.shape)
    return np.clip(img, 0, 1).astype(np.float32), centre


def paired_images(
    labels: np.ndarray, size: int, seed: int, p_finding: tuple[float, float] = (0.2, 0.75)
):
    """An image per patient: a finding with probability p_finding[label] (benign, malignant),
    so the image is informative about the label but far from decisive."""
    rng = np.random.default_rng(seed)
    images, findings = [], []
    for label in labels:
        has = bool(rng.random() < p_finding[int(label)])
        img, _ = chest_image(rng, size, has)
        images.append(img)
        findings.append(has)
    return np.stack(images), np.array(findings)


def to_dicom(
    image: np.ndarray, patient_id: str, path, *, study_description: str = "Synthetic chest"
):
    """Write a 12-bit MONOCHROME2 DX file with pydicom; returns the dataset."""
    import datetime

    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_SOP_CLASS
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = DX_SOP_CLASS
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID = patient_id
    ds.PatientName = "Synthetic^Patient"
    ds.Modality = "DX"
    ds.StudyDescription = study_description
    ds.StudyDate = datetime.date.today().strftime("%Y%m%d")
    ds.ViewPosition = "PA"
    pixels = np.round(image * 4095).astype(np.uint16)
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return ds
