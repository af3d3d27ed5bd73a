"""The business's portal: role blueprints nested under the tenant URL prefix.

Nesting happens once, at import, so that any number of apps can be created (tests
create several); `create_app` only registers the result.
"""

from prepbase.admin import bp as admin_bp
from prepbase.auth import bp as auth_bp
from prepbase.family import bp as family_bp
from prepbase.feeds import bp as calendar_bp
from prepbase.tenant_url import tenant_bp
from prepbase.tutor import bp as tutor_bp

tenant_bp.register_blueprint(auth_bp)
tenant_bp.register_blueprint(admin_bp, url_prefix="/admin")
tenant_bp.register_blueprint(tutor_bp, url_prefix="/tutor")
tenant_bp.register_blueprint(family_bp, url_prefix="/family")
tenant_bp.register_blueprint(calendar_bp)  # no sign-in: the token is the key

__all__ = ["tenant_bp"]
