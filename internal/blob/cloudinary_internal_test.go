package blob

import (
	"testing"

	"github.com/cloudinary/cloudinary-go/v2/asset"
	"github.com/cloudinary/cloudinary-go/v2/config"
)

func TestDeliverySignatureVector(t *testing.T) {
	t.Parallel()
	if got := deliverySignature("c_crop,h_20,w_10/image.jpg", "b", "sha1"); got != "s--Ai4Znfl3--" {
		t.Errorf("deliverySignature = %s, want s--Ai4Znfl3-- (shared/INTEGRATIONS.md)", got)
	}
}

// Our delivery URLs are the ones the SDK's own URL builder makes for signed
// authenticated assets on res.cloudinary.com.
func TestDeliveryURLMatchesSDK(t *testing.T) {
	t.Parallel()
	c, err := NewCloudinary(CloudinaryConfig{CloudName: "demo", APIKey: "k", APISecret: "secret-x"})
	if err != nil {
		t.Fatal(err)
	}
	conf, err := config.NewFromParams("demo", "k", "secret-x")
	if err != nil {
		t.Fatal(err)
	}
	conf.URL.SignURL = true
	conf.URL.Analytics = false
	for _, ext := range []string{"pdf", "png", "jpeg", ""} {
		key := NewKey(ext)
		a := assetFor(key)
		var sdk *asset.Asset
		if a.resourceType == "image" {
			sdk, err = asset.Image(key, conf)
		} else {
			sdk, err = asset.File(key, conf)
		}
		if err != nil {
			t.Fatal(err)
		}
		sdk.DeliveryType = "authenticated"
		want, err := sdk.String()
		if err != nil {
			t.Fatal(err)
		}
		if got := c.deliveryURL(a); got != want {
			t.Errorf("deliveryURL(%s) = %s, SDK makes %s", key, got, want)
		}
	}
}
