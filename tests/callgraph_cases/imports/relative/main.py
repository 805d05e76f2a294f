from app.views import render_page

render_page("home")
