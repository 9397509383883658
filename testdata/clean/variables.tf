variable "digitalocean_token" {
  description = "DigitalOcean API token (set TF_VAR_digitalocean_token)"
  type        = string
  sensitive   = true
}

variable "cloudflare_api_token" {
  type      = string
  sensitive = true
  default   = ""
}

provider "digitalocean" {
  token = var.digitalocean_token
}

provider "cloudflare" {
  api_token = var.cloudflare_api_token
}

provider "vault" {
  token = data.external.vault_login.result.token
}
