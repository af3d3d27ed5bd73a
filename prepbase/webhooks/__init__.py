"""Webhooks out (issue 19): events written with the change (`events`), their JSON
(`payloads`), the business's endpoints (`endpoints`), sending them (`delivery`) and the
address checks that keep deliveries out of the operator's network (`ssrf`)."""
