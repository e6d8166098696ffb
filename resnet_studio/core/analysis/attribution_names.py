"""Attribution method names and labels, importable without torch or captum (the GUI lists them
before the heavy imports)."""

METHODS = ("integrated_gradients", "saliency", "input_x_gradient", "guided_backprop",
           "deconvolution", "deeplift", "gradient_shap", "occlusion", "layer_gradcam",
           "guided_gradcam")
METHOD_LABELS = {"integrated_gradients": "Integrated Gradients", "saliency": "Saliency",
                 "input_x_gradient": "Input × Gradient", "guided_backprop": "Guided Backprop",
                 "deconvolution": "Deconvolution", "deeplift": "DeepLift",
                 "gradient_shap": "GradientSHAP", "occlusion": "Occlusion",
                 "layer_gradcam": "Grad-CAM", "guided_gradcam": "Guided Grad-CAM"}
COLORMAPS = ("viridis", "hot", "bwr", "gray")
NOISE_TUNNELS = ("smoothgrad", "vargrad")
BASELINES = ("black", "blurred", "noise")
